/**
 * Replace a value only if it is still the one that was read: the rewrite
 * steps (re-encryption, migrate-on-read) must never overwrite a fresher value
 * that a writer stored in between. The remaining TTL is kept (KEEPTTL).
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

// The old value is compared by SHA-1 so that a 1 MiB value is not sent
// back to Redis; SHA-1 is fine here, this is change detection, not security
// (the value itself is authenticated when read).
const SCRIPT = `
local current = redis.call('GET', KEYS[1])
if not current or redis.sha1hex(current) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
`;
const SCRIPT_SHA = createHash("sha1").update(SCRIPT).digest("hex");

/** Sets `key` to `next` if it still holds `expected`; true when it did. */
export async function compareAndSwap(
  redis: Redis,
  key: string,
  expected: Buffer,
  next: Buffer | string,
): Promise<boolean> {
  const expectedSha = createHash("sha1").update(expected).digest("hex");
  try {
    return (await redis.evalsha(SCRIPT_SHA, 1, key, expectedSha, next)) === 1;
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
    return (await redis.eval(SCRIPT, 1, key, expectedSha, next)) === 1;
  }
}
