/** Runs the Python `cryptography` Fernet peer (test/helpers/fernet_peer.py) on one batch. */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { pythonWithCryptography } from "./components.js";

const run = promisify(execFile);
const PEER = fileURLToPath(new URL("./fernet_peer.py", import.meta.url));

export interface PeerDecryptResult {
  ok: boolean;
  sha256?: string;
  length?: number;
  timestamp?: number;
}

async function call<T>(request: object): Promise<T> {
  const child = run(pythonWithCryptography(), [PEER], { maxBuffer: 512 * 1024 * 1024, timeout: 120_000 });
  child.child.stdin?.end(JSON.stringify(request));
  const { stdout } = await child;
  return JSON.parse(stdout) as T;
}

/** Python encrypts each payload with MultiFernet(keys) (so under keys[0]). */
export async function pythonEncrypt(keys: string[], payloads: Uint8Array[]): Promise<string[]> {
  const answer = await call<{ tokens: string[] }>({
    op: "encrypt",
    keys,
    payloads: payloads.map((p) => Buffer.from(p).toString("base64")),
  });
  return answer.tokens;
}

/** Python decrypts each token with MultiFernet(keys); results carry SHA-256 digests. */
export async function pythonDecrypt(keys: string[], tokens: string[]): Promise<PeerDecryptResult[]> {
  return (await call<{ results: PeerDecryptResult[] }>({ op: "decrypt", keys, tokens })).results;
}

export async function pythonGenerateKeys(count: number): Promise<string[]> {
  return (await call<{ keys: string[] }>({ op: "generate_keys", count })).keys;
}

const STARTER = fileURLToPath(new URL("./python_starter_cache.py", import.meta.url));

async function callStarter<T>(request: object): Promise<T> {
  const child = run(pythonWithCryptography(), [STARTER], { maxBuffer: 256 * 1024 * 1024, timeout: 120_000 });
  child.child.stdin?.end(JSON.stringify(request));
  const { stdout } = await child;
  return JSON.parse(stdout) as T;
}

/** Python writes entries to Redis in the starter's exact format (plain TCP, no auth). */
export async function pythonStarterWrite(
  endpoint: { host: string; port: number },
  key: string,
  entries: Array<{ redis_key: string; value: unknown }>,
  ttl = 3600,
): Promise<number> {
  return (await callStarter<{ written: number }>({ op: "write", ...endpoint, key, ttl, entries })).written;
}

/** Python reads starter-format entries from Redis; `ok: false` where it cannot. */
export async function pythonStarterRead(
  endpoint: { host: string; port: number },
  keys: string[],
  redisKeys: string[],
): Promise<Array<{ ok: boolean; value?: unknown }>> {
  return (
    await callStarter<{ values: Array<{ ok: boolean; value?: unknown }> }>({
      op: "read",
      ...endpoint,
      keys,
      redis_keys: redisKeys,
    })
  ).values;
}
