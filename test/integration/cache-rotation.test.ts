/**
 * Key rotation: old entries stay readable, and the re-encryption job moves
 * all of them under the new primary while writers keep writing; afterwards
 * no entry is lost or stale, and a second run changes nothing.
 */
import { describe, expect, it } from "vitest";
import { AIResponseCache, EncryptedCache, Fernet, KeyRing, reencryptNamespace } from "../../lib/index.js";
import type { ReencryptReport } from "../../lib/index.js";
import { aiResponse, recordingEvents, useCacheRedis } from "../helpers/cache-fixtures.js";

const redis = useCacheRedis();

async function keyIdsIn(namespace: string): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const key of await redis.client().keys(`${namespace}:*`)) {
    const raw = (await redis.client().getBuffer(key))!;
    ids.set(key, raw.toString("hex", 5, 9));
  }
  return ids;
}

describe("key rotation", () => {
  it("keeps old entries readable, then re-encrypts all under the new primary while writers write", async () => {
    const namespace = "rot";
    const k1 = Fernet.generateKey();
    const k2 = Fernet.generateKey();
    const before = new EncryptedCache(redis.client(), { namespace, keyRing: new KeyRing([k1]) });
    const expected = new Map<string, unknown>();
    const initial = Array.from(
      { length: 600 },
      (_, i) => [`e${i}`, i % 50 === 0 ? aiResponse(70_000, i) : { i, text: `v${i}` }] as const,
    );
    await before.setMany(initial, { ttlSeconds: 3600 });
    for (const [key, value] of initial) expected.set(key, value);
    await before.set("ttl-probe", "kept", { ttlSeconds: 900 }); // no writer touches this key
    expected.set("ttl-probe", "kept");

    // Rotate: k2 becomes primary, k1 stays readable.
    const ring = new KeyRing([k2, k1]);
    const { events, seen } = recordingEvents();
    const after = new EncryptedCache(redis.client(), { namespace, keyRing: ring, events });
    expect(await after.get("e1")).toEqual({ i: 1, text: "v1" });

    // Writers keep writing (new keys and overwrites) while the job runs.
    let writing = true;
    let writes = 0;
    const writer = (async () => {
      while (writing) {
        const key = `e${(writes * 7) % 800}`;
        const value = { i: writes, fresh: true };
        await after.set(key, value, { ttlSeconds: 3600 });
        expected.set(key, value);
        writes++;
      }
    })();
    const progress: ReencryptReport[] = [];
    const report = await reencryptNamespace(after, { batchSize: 50, onProgress: (r) => progress.push(r) });
    writing = false;
    await writer;

    expect(report.completed).toBe(true);
    expect(report.cursor).toBe("0");
    expect(writes).toBeGreaterThan(0);
    expect(report.skippedUnreadable + report.failed).toBe(0);
    expect(report.rewritten).toBeGreaterThan(0);
    expect(report.rewritten + report.alreadyCurrent + report.changedConcurrently).toBe(report.scanned);
    expect(progress.length).toBeGreaterThan(1);

    // Every entry is under the new primary, and every value is the latest one written.
    const ids = await keyIdsIn(namespace);
    expect(ids.size).toBe(expected.size);
    expect(new Set(ids.values())).toEqual(new Set([ring.primaryKeyId]));
    const keys = [...expected.keys()];
    expect(await after.getMany(keys)).toEqual(keys.map((key) => expected.get(key)));
    // Remaining TTLs were kept, not reset.
    const probeTtl = await redis.client().ttl(`${namespace}:ttl-probe`);
    expect(probeTtl).toBeGreaterThan(880);
    expect(probeTtl).toBeLessThanOrEqual(900);
    expect(seen.filter((e) => e.type === "decrypt.failure")).toHaveLength(0);

    // Idempotent: a second run finds everything current and changes nothing.
    const snapshot = await redis.client().mgetBuffer(...keys.map((k) => `${namespace}:${k}`));
    const again = await reencryptNamespace(after);
    expect(again).toMatchObject({
      rewritten: 0,
      alreadyCurrent: expected.size,
      scanned: expected.size,
      completed: true,
    });
    const unchanged = await redis.client().mgetBuffer(...keys.map((k) => `${namespace}:${k}`));
    unchanged.forEach((raw, i) => expect(raw?.equals(snapshot[i]!)).toBe(true));

    // The old key can now be retired: entries stay readable with k2 alone.
    const retired = new EncryptedCache(redis.client(), { namespace, keyRing: new KeyRing([k2]) });
    expect(await retired.getMany(keys)).toEqual(keys.map((key) => expected.get(key)));
  });

  it("skips unreadable entries (left in place), migrates legacy ones in migrate mode, and resumes from a cursor", async () => {
    const namespace = "rot2";
    const k1 = Fernet.generateKey();
    const k2 = Fernet.generateKey();
    await new EncryptedCache(redis.client(), { namespace, keyRing: new KeyRing([k1]) }).setMany(
      Array.from({ length: 300 }, (_, i) => [`e${i}`, i] as const),
    );
    await redis.client().set(`${namespace}:legacy`, JSON.stringify({ legacy: true }));
    await redis.client().set(`${namespace}:junk`, Buffer.from([0xa7, 0x53, 0x52, 1, 0x45, 0, 0, 0, 0, 0x80]));
    const cache = new EncryptedCache(redis.client(), {
      namespace,
      keyRing: new KeyRing([k2, k1]),
      mode: "migrate",
    });

    const controller = new AbortController();
    const first = await reencryptNamespace(cache, {
      batchSize: 20,
      signal: controller.signal,
      onProgress: (r) => {
        if (r.scanned >= 60) controller.abort();
      },
    });
    expect(first.completed).toBe(false);
    expect(first.cursor).not.toBe("0");
    const rest = await reencryptNamespace(cache, {
      batchSize: 20,
      cursor: first.cursor,
      maxKeysPerSecond: 5000,
    });
    expect(rest.completed).toBe(true);
    expect(first.rewritten + rest.rewritten).toBeGreaterThanOrEqual(301); // SCAN may repeat a key, never skip one
    expect(first.skippedUnreadable + rest.skippedUnreadable).toBeGreaterThanOrEqual(1);
    expect(await redis.client().exists(`${namespace}:junk`)).toBe(1);

    const strict = new EncryptedCache(redis.client(), { namespace, keyRing: new KeyRing([k2]) });
    expect(await strict.get("legacy")).toEqual({ legacy: true });
    expect(await strict.getMany(Array.from({ length: 300 }, (_, i) => `e${i}`))).toEqual(
      Array.from({ length: 300 }, (_, i) => i),
    );
  });
});

describe("AIResponseCache", () => {
  const secret = "s".repeat(40);
  const request = {
    operation: "summarize",
    text: "Summarise this report",
    options: { model: "m", temperature: 0 },
  };

  it("stores answers under keyed hashes that survive encryption-key rotation", async () => {
    const k1 = Fernet.generateKey();
    const cache = new EncryptedCache(redis.client(), { namespace: "ai", keyRing: new KeyRing([k1]) });
    const ai = new AIResponseCache(cache, { keyHashSecret: secret });
    await ai.set(request, { summary: "short" });
    const key = ai.keyOf(request);
    expect(key).toMatch(/^ai:summarize:[A-Za-z0-9_-]{43}$/);

    const rotated = new AIResponseCache(
      new EncryptedCache(redis.client(), {
        namespace: "ai",
        keyRing: new KeyRing([Fernet.generateKey(), k1]),
      }),
      { keyHashSecret: secret },
    );
    expect(rotated.keyOf(request)).toBe(key);
    expect(await rotated.get({ ...request, options: { temperature: 0, model: "m" } })).toEqual({
      summary: "short",
    });
    expect(await rotated.get({ ...request, text: "Summarise this report." })).toBeUndefined();
    const otherSecret = new AIResponseCache(cache, { keyHashSecret: "t".repeat(40) });
    expect(otherSecret.keyOf(request)).not.toBe(key);
  });

  it("applies per-operation TTLs, configurable, and invalidates by operation with SCAN", async () => {
    const cache = new EncryptedCache(redis.client(), {
      namespace: "ai2",
      keyRing: new KeyRing([Fernet.generateKey()]),
    });
    const ai = new AIResponseCache(cache, { keyHashSecret: secret, ttlByOperation: { qa: 600 } });
    const ops = { summarize: 7200, sentiment: 3600, key_points: 5400, questions: 3600, qa: 600 };
    for (const [operation, ttl] of Object.entries(ops)) {
      for (let i = 0; i < 5; i++) await ai.set({ operation, text: `t${i}` }, { i });
      const remaining = await cache.ttl(ai.keyOf({ operation, text: "t0" }));
      expect(remaining).toBeGreaterThan(ttl - 5);
      expect(remaining).toBeLessThanOrEqual(ttl);
    }
    await ai.set({ operation: "summarize", text: "custom" }, 1, { ttlSeconds: 42 });
    expect(await cache.ttl(ai.keyOf({ operation: "summarize", text: "custom" }))).toBeLessThanOrEqual(42);
    expect(await ai.invalidate({ operation: "qa" })).toBe(5);
    expect(await ai.get({ operation: "qa", text: "t1" })).toBeUndefined();
    expect(await ai.get({ operation: "sentiment", text: "t1" })).toEqual({ i: 1 });
    expect(await ai.invalidate()).toBe(21);
  });

  it("refuses a short key-hashing secret and operation names that could carry user text", () => {
    const cache = new EncryptedCache(redis.client(), {
      namespace: "ai3",
      keyRing: new KeyRing([Fernet.generateKey()]),
    });
    expect(() => new AIResponseCache(cache, { keyHashSecret: "short" })).toThrow(/at least 32 bytes, got 5/);
    const ai = new AIResponseCache(cache, { keyHashSecret: secret });
    for (const operation of ["Summarize", "what is the capital", "a:b", "", "x".repeat(33)]) {
      expect(() => ai.keyOf({ operation, text: "t" })).toThrow(/operation/);
    }
  });
});
