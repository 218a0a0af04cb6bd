/**
 * One namespace holding every kind of entry at once (current, older key,
 * legacy plaintext, Python-starter tokens written by Python, corrupt), read
 * in each mode; tampering; context binding; Python interop both ways;
 * confidentiality canaries.
 */
import { describe, expect, it } from "vitest";
import {
  AIResponseCache,
  EncryptedCache,
  Fernet,
  KeyRing,
  type CacheMode,
  type SecurityEvent,
} from "../../lib/index.js";
import { aiResponse, recordingEvents, useCacheRedis } from "../helpers/cache-fixtures.js";
import { pythonStarterRead, pythonStarterWrite } from "../helpers/python-fernet.js";
import { assertNoSecret, visibleText } from "../helpers/canary.js";

const redis = useCacheRedis();
const oldKey = Fernet.generateKey();
const newKey = Fernet.generateKey();
const strangerKey = Fernet.generateKey();

type Expectation = "hit" | "miss";
interface Entry {
  name: string;
  value?: unknown;
  /** Expected outcome in strict, migrate and python-compat mode. */
  expect: Record<CacheMode, Expectation>;
  event?: Partial<Record<CacheMode, SecurityEvent["type"]>>;
}

const ENTRIES: Entry[] = [
  {
    name: "current",
    value: aiResponse(3000, 1),
    expect: { strict: "hit", migrate: "hit", "python-compat": "hit" },
  },
  {
    name: "older-key",
    value: { older: true },
    expect: { strict: "hit", migrate: "hit", "python-compat": "hit" },
  },
  {
    name: "legacy-json",
    value: { legacy: "plain", n: [1, 2] },
    expect: { strict: "miss", migrate: "hit", "python-compat": "miss" },
    event: { strict: "value.unauthenticated", "python-compat": "value.unauthenticated" },
  },
  {
    name: "legacy-wrapped",
    value: { wrapped: "rawj" },
    expect: { strict: "miss", migrate: "hit", "python-compat": "miss" },
  },
  {
    name: "legacy-pickle",
    expect: { strict: "miss", migrate: "miss", "python-compat": "miss" },
    event: { strict: "value.unauthenticated", migrate: "value.unauthenticated" },
  },
  {
    name: "python",
    value: { from: "python", unicode: "é✓", nested: { list: [1, 2.5, null, true] } },
    expect: { strict: "miss", migrate: "hit", "python-compat": "hit" },
    event: { strict: "value.unauthenticated" },
  },
  {
    name: "python-other-key",
    expect: { strict: "miss", migrate: "miss", "python-compat": "miss" },
    event: { migrate: "decrypt.failure", "python-compat": "decrypt.failure" },
  },
  {
    name: "unknown-key-id",
    expect: { strict: "miss", migrate: "miss", "python-compat": "miss" },
    event: { strict: "decrypt.failure", migrate: "decrypt.failure", "python-compat": "decrypt.failure" },
  },
  {
    name: "truncated",
    expect: { strict: "miss", migrate: "miss", "python-compat": "miss" },
    event: { strict: "decrypt.failure" },
  },
  {
    name: "garbage",
    expect: { strict: "miss", migrate: "miss", "python-compat": "miss" },
    event: { strict: "value.unauthenticated", migrate: "value.unauthenticated" },
  },
  {
    name: "malformed-header",
    expect: { strict: "miss", migrate: "miss", "python-compat": "miss" },
    event: { strict: "value.unauthenticated" },
  },
];

async function populate(namespace: string): Promise<Map<string, Buffer>> {
  const client = redis.client();
  const writer = new EncryptedCache(client, { namespace, keyRing: new KeyRing([newKey, oldKey]) });
  const oldWriter = new EncryptedCache(client, { namespace, keyRing: new KeyRing([oldKey]) });
  const stranger = new EncryptedCache(client, { namespace, keyRing: new KeyRing([strangerKey]) });
  const value = (name: string): unknown => ENTRIES.find((e) => e.name === name)!.value;
  await writer.set("current", value("current"));
  await oldWriter.set("older-key", value("older-key"));
  await client.set(`${namespace}:legacy-json`, JSON.stringify(value("legacy-json")));
  await client.set(
    `${namespace}:legacy-wrapped`,
    JSON.stringify({ _serialized_data: "rawj:" + JSON.stringify(value("legacy-wrapped")) }),
  );
  await client.set(
    `${namespace}:legacy-pickle`,
    JSON.stringify({ _serialized_data: "pickle:gASVDAAAAAAAAACMCGJ1aWx0aW5zlC4=" }),
  );
  await pythonStarterWrite(redis.server(), oldKey, [
    { redis_key: `${namespace}:python`, value: value("python") },
  ]);
  await pythonStarterWrite(redis.server(), strangerKey, [
    { redis_key: `${namespace}:python-other-key`, value: 1 },
  ]);
  await stranger.set("unknown-key-id", "x");
  await writer.set("truncated", aiResponse(2000, 3));
  const full = (await client.getBuffer(`${namespace}:truncated`))!;
  await client.set(`${namespace}:truncated`, full.subarray(0, full.length - 20));
  await client.set(`${namespace}:garbage`, Buffer.from([0x00, 0xff, 0x13, 0x37, 0x80, 0x80]));
  await client.set(`${namespace}:malformed-header`, Buffer.from([0xa7, 0x53, 0x52, 0x09, 0x45, 1, 2, 3, 4]));
  const snapshot = new Map<string, Buffer>();
  for (const entry of ENTRIES)
    snapshot.set(entry.name, (await client.getBuffer(`${namespace}:${entry.name}`))!);
  return snapshot;
}

describe.each<CacheMode>(["strict", "migrate", "python-compat"])(
  "a mixed namespace read in %s mode",
  (mode) => {
    it("hits what the mode accepts, misses the rest with an event, and leaves every entry in place", async () => {
      const namespace = `mixed-${mode}`;
      const before = await populate(namespace);
      const { events, seen, clear } = recordingEvents();
      const cache = new EncryptedCache(redis.client(), {
        namespace,
        mode,
        keyRing: new KeyRing([newKey, oldKey]),
        events,
      });
      for (const entry of ENTRIES) {
        clear();
        const got = await cache.get(entry.name);
        const want = entry.expect[mode];
        expect(got === undefined ? "miss" : "hit", `${entry.name} in ${mode}`).toBe(want);
        if (want === "hit") expect(got, entry.name).toEqual(entry.value);
        else
          expect(
            seen.map((e) => e.type),
            `${entry.name} publishes an event`,
          ).toHaveLength(1);
        const expectedEvent = entry.event?.[mode];
        if (expectedEvent !== undefined) expect(seen[0]?.type, entry.name).toBe(expectedEvent);
      }
      // Nothing was deleted or changed because it could not be read.
      for (const entry of ENTRIES) {
        const after = await redis.client().getBuffer(`${namespace}:${entry.name}`);
        expect(after?.equals(before.get(entry.name)!), `${entry.name} untouched`).toBe(true);
      }
    });
  },
);

describe("migrate mode with rewriteLegacyOnRead", () => {
  it("rewrites legacy and Python entries as envelopes under the primary, keeping their TTL", async () => {
    const namespace = "mixed-rewrite";
    await populate(namespace);
    await redis.client().expire(`${namespace}:legacy-json`, 500);
    const ring = new KeyRing([newKey, oldKey]);
    const cache = new EncryptedCache(redis.client(), {
      namespace,
      mode: "migrate",
      keyRing: ring,
      rewriteLegacyOnRead: true,
    });
    for (const name of ["legacy-json", "legacy-wrapped", "python"]) {
      const value = await cache.get(name);
      expect(value).toEqual(ENTRIES.find((e) => e.name === name)!.value);
      const raw = (await redis.client().getBuffer(`${namespace}:${name}`))!;
      expect(raw.subarray(0, 5)).toEqual(Buffer.from([0xa7, 0x53, 0x52, 0x01, 0x45]));
      expect(raw.toString("hex", 5, 9)).toBe(ring.primaryKeyId);
    }
    const ttl = await redis.client().ttl(`${namespace}:legacy-json`);
    expect(ttl).toBeGreaterThan(490);
    expect(ttl).toBeLessThanOrEqual(500);
    const strict = new EncryptedCache(redis.client(), { namespace, keyRing: ring });
    expect(await strict.get("legacy-json")).toEqual(ENTRIES.find((e) => e.name === "legacy-json")!.value);
  });
});

describe("tamper and context binding", () => {
  it("a flipped byte anywhere in a stored value is a miss with an event, and the entry stays", async () => {
    const { events, seen } = recordingEvents();
    const cache = new EncryptedCache(redis.client(), {
      namespace: "tamper",
      keyRing: new KeyRing([newKey]),
      events,
    });
    await cache.set("k", aiResponse(5000));
    const original = (await redis.client().getBuffer("tamper:k"))!;
    const positions = [0, 1, 2, 3, 4, 5, 8, 9, 10, 17, 33, 50, original.length - 33, original.length - 1];
    for (let i = 60; i < original.length - 40; i += 97) positions.push(i);
    for (const position of positions) {
      const tampered = Buffer.from(original);
      tampered[position]! ^= 0x01;
      await redis.client().set("tamper:k", tampered);
      seen.splice(0);
      expect(await cache.get("k"), `byte ${position}`).toBeUndefined();
      expect(seen).toHaveLength(1);
      expect(["decrypt.failure", "value.unauthenticated"]).toContain(seen[0]!.type);
      expect((await redis.client().getBuffer("tamper:k"))?.equals(tampered)).toBe(true);
    }
  });

  it("a value copied to another key name fails closed (context binding)", async () => {
    const { events, seen } = recordingEvents();
    const cache = new EncryptedCache(redis.client(), {
      namespace: "ctx",
      keyRing: new KeyRing([newKey]),
      events,
    });
    await cache.set("answer-for-alice", { secret: "alice's answer" });
    await redis.client().copy("ctx:answer-for-alice", "ctx:answer-for-bob");
    expect(await cache.get("answer-for-bob")).toBeUndefined();
    expect(seen[0]).toMatchObject({ type: "decrypt.failure", key: "ctx:answer-for-bob" });
    expect((seen[0] as { reason: string }).reason).toMatch(/context mismatch/);
    expect(await cache.get("answer-for-alice")).toEqual({ secret: "alice's answer" });
  });
});

describe("Python interop in python-compat mode", () => {
  it("Python reads what TypeScript writes, and TypeScript reads what Python writes", async () => {
    const ring = new KeyRing([newKey, oldKey]);
    const cache = new EncryptedCache(redis.client(), {
      namespace: "compat",
      mode: "python-compat",
      keyRing: ring,
    });
    const values = [
      aiResponse(8000, 4),
      { n: 1, s: "ünïcödé", list: [1, 2, { deep: null }] },
      "text",
      3.25,
      null,
      [true],
    ];
    await cache.setMany(values.map((v, i) => [`ts-${i}`, v] as const));
    const read = await pythonStarterRead(
      redis.server(),
      [newKey],
      values.map((_, i) => `compat:ts-${i}`),
    );
    expect(read).toEqual(values.map((value) => ({ ok: true, value })));

    await pythonStarterWrite(
      redis.server(),
      newKey,
      values.map((value, i) => ({ redis_key: `compat:py-${i}`, value })),
    );
    expect(await cache.getMany(values.map((_, i) => `py-${i}`))).toEqual(values);
  });
});

describe("confidentiality", () => {
  it("no response canary in any raw value and no request canary in any key name, in every encrypted mode", async () => {
    const responseCanary = "CANARY-RESPONSE-8d1f2a";
    const requestCanary = "CANARY-PROMPT-77c0e1";
    for (const mode of ["strict", "migrate", "python-compat"] as const) {
      const namespace = `canary-${mode}`;
      const cache = new EncryptedCache(redis.client(), { namespace, mode, keyRing: new KeyRing([newKey]) });
      const ai = new AIResponseCache(cache, { keyHashSecret: "k".repeat(32) });
      for (const [i, operation] of ["summarize", "qa", "sentiment"].entries()) {
        await ai.set(
          {
            operation,
            text: `${requestCanary} please ${i}`,
            question: `${requestCanary}?`,
            options: { model: requestCanary },
          },
          { answer: `${responseCanary} ${"long text ".repeat(i * 300)}` },
        );
      }
      await cache.set(`plain-key-${i0()}`, { answer: responseCanary });
      const keys = await redis.client().keys(`${namespace}:*`);
      expect(keys.length).toBe(4);
      for (const key of keys) {
        expect(key).not.toContain(requestCanary);
        const raw = (await redis.client().getBuffer(key))!;
        for (const encoding of ["utf8", "latin1", "base64", "hex"] as const) {
          expect(raw.toString(encoding)).not.toContain(responseCanary);
        }
      }
    }
  });
});

let counter = 0;
function i0(): number {
  return counter++;
}

describe("no secret in events or errors", () => {
  it("events and errors from every failure path carry no key, plaintext or key-hashing secret", async () => {
    const key = Fernet.generateKey();
    const hashSecret = "HASH-SECRET-CANARY-0123456789abcdef";
    const plaintext = "RESPONSE-CANARY-5c2e9b";
    const { events, seen } = recordingEvents();
    const cache = new EncryptedCache(redis.client(), {
      namespace: "leak",
      keyRing: new KeyRing([key]),
      events,
    });
    const ai = new AIResponseCache(cache, { keyHashSecret: hashSecret });
    await ai.set({ operation: "qa", text: "q" }, { answer: plaintext });
    await cache.set("k", { answer: plaintext });
    const stored = (await redis.client().getBuffer("leak:k"))!;
    // Tampered, copied, foreign and legacy values: every read failure publishes an event.
    const tampered = Buffer.from(stored);
    tampered[tampered.length - 1]! ^= 1;
    await redis.client().set("leak:tampered", tampered);
    await redis.client().copy("leak:k", "leak:copied");
    await redis.client().set("leak:legacy", JSON.stringify({ answer: plaintext }));
    for (const name of ["tampered", "copied", "legacy"]) expect(await cache.get(name)).toBeUndefined();
    const other = new EncryptedCache(redis.client(), {
      namespace: "leak",
      keyRing: new KeyRing([Fernet.generateKey()]),
      events,
    });
    expect(await other.get("k")).toBeUndefined();
    expect(seen.length).toBeGreaterThanOrEqual(4);
    const errors: unknown[] = [];
    for (const attempt of [
      () => cache.set("big", plaintext.repeat(1e6)),
      () => cache.set("bad", { answer: plaintext, n: 10n }),
      () => new AIResponseCache(cache, { keyHashSecret: hashSecret.slice(0, 20) }),
    ]) {
      try {
        await attempt();
      } catch (error) {
        errors.push(error);
      }
    }
    expect(errors).toHaveLength(3);
    assertNoSecret(visibleText(seen) + errors.map(visibleText).join("\n"), [
      key,
      Buffer.from(key, "base64url"),
      plaintext,
      hashSecret,
      hashSecret.slice(0, 20),
    ]);
  });
});
