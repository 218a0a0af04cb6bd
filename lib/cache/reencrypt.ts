/**
 * Online re-encryption: after a key rotation, move every entry of a
 * namespace under the primary key (and, in migrate mode, turn legacy
 * plaintext and Python-starter entries into envelopes) while the app keeps
 * reading and writing.
 *
 * Each entry is read and verified exactly as `get` would, re-encoded, and
 * written back with a compare-and-set that keeps its remaining TTL and
 * gives up if a writer changed the entry in between (the writer's value is
 * already current). Unreadable entries are left in place and counted.
 * The walk is SCAN-based, resumable from the returned cursor, idempotent
 * (a second run finds everything current) and rate-limited.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { compareAndSwap } from "./compare-and-swap.js";
import type { EncryptedCache } from "./encrypted-cache.js";

export interface ReencryptOptions {
  /** SCAN cursor to resume from (the `cursor` of an earlier, interrupted report). Default "0": the start. */
  cursor?: string;
  /** Keys asked of each SCAN call. Default 200. */
  batchSize?: number;
  /** At most this many keys processed per second; default unlimited. */
  maxKeysPerSecond?: number;
  /** Stops after the current batch; the report's cursor resumes from there. */
  signal?: AbortSignal;
  /** Called after every batch with the counts so far. */
  onProgress?: (report: ReencryptReport) => void;
}

export interface ReencryptReport {
  scanned: number;
  rewritten: number;
  alreadyCurrent: number;
  /** Entries that fail authentication or decoding: left in place (see the security events). */
  skippedUnreadable: number;
  /** Entries a writer changed or removed between our read and our write: left to the writer. */
  changedConcurrently: number;
  /** Entries whose rewrite failed for another reason (Redis error, value no longer storable). */
  failed: number;
  /** Where to resume; "0" once the walk is complete. */
  cursor: string;
  completed: boolean;
}

export async function reencryptNamespace(
  cache: EncryptedCache,
  options: ReencryptOptions = {},
): Promise<ReencryptReport> {
  if (!cache.encrypted) throw new Error("re-encryption needs a cache with a key ring");
  const redis = cache.client;
  const batchSize = options.batchSize ?? 200;
  const report: ReencryptReport = {
    scanned: 0,
    rewritten: 0,
    alreadyCurrent: 0,
    skippedUnreadable: 0,
    changedConcurrently: 0,
    failed: 0,
    cursor: options.cursor ?? "0",
    completed: false,
  };
  const started = Date.now();
  let first = true;
  while (first || report.cursor !== "0") {
    first = false;
    if (options.signal?.aborted) return report;
    const [next, keys] = await redis.scan(report.cursor, "MATCH", `${cache.namespace}:*`, "COUNT", batchSize);
    if (keys.length > 0) {
      const raws = await redis.mgetBuffer(...keys);
      for (let i = 0; i < keys.length; i++) {
        await processEntry(cache, keys[i]!, raws[i] ?? null, report);
      }
    }
    report.cursor = next;
    options.onProgress?.({ ...report });
    if (options.maxKeysPerSecond !== undefined && report.scanned > 0) {
      const due = (report.scanned / options.maxKeysPerSecond) * 1000 - (Date.now() - started);
      if (due > 0)
        await sleep(due, undefined, options.signal ? { signal: options.signal } : {}).catch(() => undefined);
    }
  }
  report.completed = true;
  return report;
}

async function processEntry(
  cache: EncryptedCache,
  redisKey: string,
  raw: Buffer | null,
  report: ReencryptReport,
): Promise<void> {
  report.scanned++;
  if (raw === null) {
    report.changedConcurrently++; // expired or deleted since SCAN saw it
    return;
  }
  const read = await cache.decodeStored(redisKey, raw);
  if (!read.hit) {
    report.skippedUnreadable++;
    return;
  }
  if (cache.isCurrent(read, raw)) {
    report.alreadyCurrent++;
    return;
  }
  try {
    const next = await cache.encodeValue(redisKey, read.value);
    if (await compareAndSwap(cache.client, redisKey, raw, next)) report.rewritten++;
    else report.changedConcurrently++;
  } catch {
    report.failed++;
  }
}
