/**
 * The built package, imported the way an app imports it: `npm run build`,
 * then `import("secure-redis")` from Node 22 through package.json `exports`.
 */
import { execFile, execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { useRedisServer } from "../helpers/redis-server.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);

/** Runs an ES module script with the repo as its cwd, so `secure-redis` resolves to this package. */
async function runScript(script: string, env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
    cwd: root,
    env: { ...process.env, ...env },
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe("package root export", () => {
  beforeAll(() => {
    execFileSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "pipe" });
  }, 120_000);
  const server = useRedisServer({});

  it("gives Fernet, KeyRing and InvalidToken from import() of the package name", async () => {
    const result = await runScript(`
      const m = await import("secure-redis");
      const key = m.Fernet.generateKey();
      const f = new m.Fernet(key);
      const token = f.encrypt("hi", { now: 1 });
      const ring = new m.KeyRing([m.Fernet.generateKey(), key]);
      let invalid = "";
      try { new m.Fernet(m.Fernet.generateKey()).decrypt(token, { ttl: 10, now: 2 }); }
      catch (e) { invalid = e instanceof m.InvalidToken ? e.reason : String(e); }
      console.log(JSON.stringify({
        exports: Object.keys(m).sort(),
        node: process.versions.node,
        roundTrip: f.decrypt(token).toString(),
        ringRead: ring.decrypt(token, { ttl: 10, now: 2 }).toString(),
        bytesForm: f.encryptToBytes("b")[0],
        timestamp: f.extractTimestamp(token),
        invalid,
      }));`);
    expect(result.exports).toEqual(
      expect.arrayContaining(["Fernet", "KeyRing", "InvalidToken", "EncryptedCache"]),
    );
    expect(Number((result.node as string).split(".")[0])).toBeGreaterThanOrEqual(22);
    expect(result).toMatchObject({
      roundTrip: "hi",
      ringRead: "hi",
      bytesForm: 0x80,
      timestamp: 1,
      invalid: "hmac",
    });
  });

  it("EncryptedCache from the built package stores values a raw GET cannot read", async () => {
    const result = await runScript(
      `
      const { EncryptedCache, KeyRing, Fernet } = await import("secure-redis");
      const { Redis } = await import("ioredis");
      const redis = new Redis({ host: "127.0.0.1", port: Number(process.env.PORT), protocol: 2 });
      const keyRing = new KeyRing([Fernet.generateKey()]);
      const cache = new EncryptedCache(redis, { keyRing, namespace: "pkg", mode: "strict" });
      const value = { answer: "PLAINTEXT-CANARY-41", list: [1, 2, 3] };
      await cache.set("k", value, { ttlSeconds: 60 });
      const back = await cache.get("k");
      const raw = await redis.getBuffer("pkg:k");
      console.log(JSON.stringify({ back, rawHasCanary: raw.includes("PLAINTEXT-CANARY-41"), rawLength: raw.length }));
      redis.disconnect();`,
      { PORT: String(server().port) },
    );
    expect(result.back).toEqual({ answer: "PLAINTEXT-CANARY-41", list: [1, 2, 3] });
    expect(result.rawHasCanary).toBe(false);
    expect(result.rawLength).toBeGreaterThan(50);
  });
});
