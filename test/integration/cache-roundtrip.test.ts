/**
 * EncryptedCache against a real redis-server: round trips for every mode and
 * value kind, TTLs, batch operations, and the failure semantics of writes.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import {
  CacheUnavailableError,
  CacheValueError,
  ConfigurationError,
  EncryptedCache,
  Fernet,
  KeyRing,
  type CacheMode,
} from "../../lib/index.js";
import { aiResponse, noise, recordingEvents, useCacheRedis } from "../helpers/cache-fixtures.js";

const redis = useCacheRedis();
const keyRing = new KeyRing([Fernet.generateKey()]);
let nsCounter = 0;
const ns = (): string => `rt${++nsCounter}`;

const VALUES: Array<[string, unknown]> = [
  ["nested JSON", aiResponse(4096)],
  ["unicode", { text: "naïve café ✓ 日本語 🚀", emoji: ["🔥", "\u0000", "\uffff"] }],
  ["large JSON (2 MiB)", aiResponse(2 * 1024 * 1024, 7)],
  ["string", "plain text, not JSON"],
  ["empty string", ""],
  ["bytes", noise(1000)],
  ["large bytes (1 MiB)", noise(1024 * 1024)],
  ["empty bytes", Buffer.alloc(0)],
  ["null", null],
  ["number", 42.5],
  ["boolean", false],
  ["array", [1, "two", { three: 3 }, [null]]],
];

describe.each<[string, { keys: boolean; mode: CacheMode; environment: "production" | "development" }]>([
  ["strict, encrypted", { keys: true, mode: "strict", environment: "production" }],
  ["migrate, encrypted", { keys: true, mode: "migrate", environment: "production" }],
  ["unencrypted (development)", { keys: false, mode: "strict", environment: "development" }],
])("round trips: %s", (_name, setup) => {
  it.each(VALUES)("%s", async (_kind, value) => {
    const cache = new EncryptedCache(redis.client(), {
      namespace: ns(),
      mode: setup.mode,
      environment: setup.environment,
      ...(setup.keys ? { keyRing } : {}),
    });
    await cache.set("k", value, { ttlSeconds: 60 });
    const back = await cache.get("k");
    if (Buffer.isBuffer(value)) expect(Buffer.isBuffer(back) && back.equals(value)).toBe(true);
    else expect(back).toEqual(value);
    expect(await cache.ttl("k")).toBeGreaterThan(55);
  });
});

describe("python-compat round trips", () => {
  it.each(VALUES.filter(([, v]) => !Buffer.isBuffer(v)))("%s", async (_kind, value) => {
    const cache = new EncryptedCache(redis.client(), { namespace: ns(), mode: "python-compat", keyRing });
    await cache.set("k", value);
    expect(await cache.get("k")).toEqual(value);
    const raw = await redis.client().get(cache.redisKey("k"));
    expect(raw).toMatch(/^gAAAAA/);
  });

  it("refuses bytes, which the starter's rawj: format cannot carry", async () => {
    const cache = new EncryptedCache(redis.client(), { namespace: ns(), mode: "python-compat", keyRing });
    await expect(cache.set("k", Buffer.from("x"))).rejects.toThrow(/JSON values only/);
  });
});

describe("EncryptedCache operations", () => {
  it("honours TTLs: default, per call, and expiry", async () => {
    const cache = new EncryptedCache(redis.client(), { namespace: ns(), keyRing, defaultTtlSeconds: 120 });
    await cache.set("default", 1);
    await cache.set("short", 2, { ttlSeconds: 1 });
    const ttl = await cache.ttl("default");
    expect(ttl).toBeGreaterThan(115);
    expect(ttl).toBeLessThanOrEqual(120);
    expect(await cache.ttl("missing")).toBeUndefined();
    await redis.client().set(cache.redisKey("forever"), "x");
    expect(await cache.ttl("forever")).toBe(Number.POSITIVE_INFINITY);
    await sleep(2100);
    expect(await cache.get("short")).toBeUndefined();
    expect(await cache.has("short")).toBe(false);
    expect(await cache.get("default")).toBe(1);
  });

  it("gets and sets many in one round trip, in order, with misses as undefined", async () => {
    const cache = new EncryptedCache(redis.client(), { namespace: ns(), keyRing });
    await cache.setMany([
      ["a", { n: 1 }],
      ["b", "two"],
      ["c", aiResponse(100_000)],
    ]);
    expect(await cache.getMany(["a", "missing", "b", "c"])).toEqual([
      { n: 1 },
      undefined,
      "two",
      aiResponse(100_000),
    ]);
    expect(await cache.getMany([])).toEqual([]);
  });

  it("deletes, reports existence, and deletes by pattern with SCAN", async () => {
    const cache = new EncryptedCache(redis.client(), { namespace: ns(), keyRing });
    await cache.setMany(Array.from({ length: 30 }, (_, i) => [`user:${i}`, i] as const));
    await cache.set("other", 1);
    expect(await cache.has("user:3")).toBe(true);
    expect(await cache.delete("user:3", "user:4", "nope")).toBe(2);
    expect(await cache.has("user:3")).toBe(false);
    expect(await cache.deleteMatching("user:*", 7)).toBe(28);
    expect(await cache.get("other")).toBe(1);
  });

  it("keys every entry under its namespace", async () => {
    const a = new EncryptedCache(redis.client(), { namespace: "tenant-a", keyRing });
    const b = new EncryptedCache(redis.client(), { namespace: "tenant-b", keyRing });
    await a.set("shared", "from a");
    expect(await b.get("shared")).toBeUndefined();
    expect(await redis.client().exists("tenant-a:shared")).toBe(1);
  });
});

describe("write failures are never silent", () => {
  it("throws on values that cannot be serialised, naming the key and writing nothing", async () => {
    const cache = new EncryptedCache(redis.client(), { namespace: ns(), keyRing });
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const bad of [undefined, () => 1, Symbol("s"), 10n, cycle]) {
      await expect(cache.set("bad", bad)).rejects.toThrow(CacheValueError);
    }
    await expect(cache.set("bad", 10n)).rejects.toThrow(/"rt\d+:bad" cannot be serialised as JSON/);
    expect(await cache.has("bad")).toBe(false);
  });

  it("throws on values over maxValueBytes, whatever the compression", async () => {
    const cache = new EncryptedCache(redis.client(), { namespace: ns(), keyRing, maxValueBytes: 10_000 });
    await expect(cache.set("big", "x".repeat(10_001))).rejects.toThrow(
      /10001 bytes serialised, over maxValueBytes \(10000\)/,
    );
    await cache.set("ok", "x".repeat(10_000));
    expect(await cache.get("ok")).toHaveLength(10_000);
  });

  it("rejects bad TTLs and keys", async () => {
    const cache = new EncryptedCache(redis.client(), { namespace: ns(), keyRing });
    for (const ttlSeconds of [0, -1, 1.5, Number.NaN]) {
      await expect(cache.set("k", 1, { ttlSeconds })).rejects.toThrow(/ttlSeconds must be a whole number/);
    }
    await expect(cache.set("", 1)).rejects.toThrow(/non-empty string/);
  });

  it("on an unreachable Redis: get misses with an event, set throws (or drops with an event)", async () => {
    const down = new Redis({ host: "127.0.0.1", port: 1, lazyConnect: true, retryStrategy: () => null });
    down.on("error", () => undefined); // the refused connection is the point of this test
    const { events, seen } = recordingEvents();
    const cache = new EncryptedCache(down, { namespace: ns(), keyRing, events });
    expect(await cache.get("k")).toBeUndefined();
    expect(await cache.getMany(["a", "b"])).toEqual([undefined, undefined]);
    await expect(cache.set("k", 1)).rejects.toThrow(CacheUnavailableError);
    const dropping = new EncryptedCache(down, { namespace: ns(), keyRing, events, onWriteFailure: "drop" });
    await dropping.set("k", 1);
    expect(
      seen.filter((e) => e.type === "redis.unavailable").map((e) => (e as { operation: string }).operation),
    ).toEqual(["get", "getMany", "set", "set"]);
    down.disconnect();
  });

  it("fails open for reads when the connection drops mid-life, and recovers", async () => {
    const { host, port } = redis.server();
    const client = new Redis({ host, port, protocol: 2, retryStrategy: () => 200 });
    const { events, seen } = recordingEvents();
    const cache = new EncryptedCache(client, { namespace: ns(), keyRing, events });
    await cache.set("k", "v");
    const id = await client.client("ID");
    await redis.client().client("KILL", "ID", String(id)); // the server drops the connection
    await sleep(20);
    expect(client.status).not.toBe("ready");
    expect(await cache.get("k")).toBeUndefined(); // at once, not after the reconnect
    expect(seen.some((e) => e.type === "redis.unavailable")).toBe(true);
    await new Promise((resolve) => client.once("ready", resolve));
    expect(await cache.get("k")).toBe("v");
    client.disconnect();
  });
});

describe("construction", () => {
  it("requires keys where the tier requires encryption, naming the setting", () => {
    for (const environment of ["production", "staging"] as const) {
      let caught: unknown;
      try {
        new EncryptedCache(redis.client(), { namespace: "x", environment });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigurationError);
      expect((caught as ConfigurationError).setting).toBe("REDIS_ENCRYPTION_KEYS");
      expect((caught as Error).message).toMatch(/gen-key/);
    }
    // The default environment is production: no keys, no cache.
    expect(() => new EncryptedCache(redis.client(), { namespace: "x" })).toThrow(/REDIS_ENCRYPTION_KEYS/);
    expect(new EncryptedCache(redis.client(), { namespace: "x", environment: "testing" }).encrypted).toBe(
      false,
    );
  });

  it("validates the namespace and mode", () => {
    for (const namespace of ["", "a:b", "a*", "-x", "x".repeat(65)]) {
      expect(() => new EncryptedCache(redis.client(), { namespace, keyRing })).toThrow(/namespace/);
    }
    expect(
      () => new EncryptedCache(redis.client(), { namespace: "x", keyRing, mode: "loose" as CacheMode }),
    ).toThrow(/mode/);
  });
});
