import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { EncryptedCache, Fernet, InvalidToken, KeyRing } from "../../lib/index.js";
import {
  MAGIC,
  contextOf,
  decodeInner,
  decodeOuter,
  encodeEncrypted,
  encodeInner,
} from "../../lib/cache/envelope.js";

// decodeStored never touches the connection; a lazy client is never connected.
const idle = new Redis({ lazyConnect: true });
afterAll(() => idle.disconnect());
const ring = new KeyRing([Fernet.generateKey()]);
const strict = new EncryptedCache(idle, { namespace: "p", keyRing: ring });

describe("envelope parser", () => {
  it("never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const outer = decodeOuter(Buffer.from(bytes));
        expect(["encrypted", "plain", "not-envelope", "malformed"]).toContain(outer.kind);
        const inner = decodeInner(Buffer.from(bytes), contextOf("p:k"));
        expect(typeof inner === "string" || typeof inner === "object").toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("never accepts arbitrary bytes in strict mode, even behind a valid header and key id", async () => {
    const header = Buffer.concat([MAGIC, Buffer.from([0x01, 0x45]), Buffer.from(ring.primaryKeyId, "hex")]);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.boolean(), async (bytes, withHeader) => {
        const raw = withHeader
          ? Buffer.concat([header, Buffer.from([0x80]), Buffer.from(bytes)])
          : Buffer.from(bytes);
        const result = await strict.decodeStored("p:k", raw);
        expect(result.hit).toBe(false);
      }),
      { numRuns: 1500 },
    );
  });

  it("accepts only authenticated bodies: a real token with arbitrary inner bytes fails unless the inner header is right", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (inner) => {
        const raw = encodeEncrypted(ring.primaryKeyId, ring.primary.encryptToBytes(inner));
        const result = await strict.decodeStored("p:k", raw);
        // Only a body that starts with version 1, known codec/serialisation and
        // this key's context can be accepted.
        if (result.hit) expect(Buffer.from(inner).subarray(3, 19).equals(contextOf("p:k"))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("round-trips inner bodies and rejects another key's context", () => {
    const body = { codec: "brotli" as const, serialisation: "json" as const, payload: Buffer.from("xyz") };
    const encoded = encodeInner(body, contextOf("p:a"));
    expect(decodeInner(encoded, contextOf("p:a"))).toEqual(body);
    expect(decodeInner(encoded, contextOf("p:b"))).toMatch(/context mismatch/);
    const badCodec = Buffer.from(encoded);
    badCodec[1] = 9;
    expect(decodeInner(badCodec, contextOf("p:a"))).toBe("unknown compression codec");
  });
});

describe("Fernet async (WebCrypto) paths", () => {
  const fernet = new Fernet(Fernet.generateKey());

  it("produce and accept the same tokens as the sync paths", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 5000 }), async (data) => {
        const asyncToken = await fernet.encryptToBytesAsync(data);
        expect(fernet.decrypt(asyncToken).equals(Buffer.from(data))).toBe(true);
        const opened = await fernet.decryptWithTimestampAsync(fernet.encryptToBytes(data, { now: 1234 }));
        expect(opened.plaintext.equals(Buffer.from(data))).toBe(true);
        expect(opened.timestamp).toBe(1234);
      }),
      { numRuns: 200 },
    );
    const iv = Buffer.alloc(16, 3);
    expect(await fernet.encryptToBytesAsync("same", { now: 99, iv })).toEqual(
      fernet.encryptToBytes("same", { now: 99, iv }),
    );
  });

  it("reject a token with any flipped bit, with the same reasons as the sync path", async () => {
    const token = fernet.encryptToBytes("secret answer");
    for (let bit = 0; bit < token.length * 8; bit += 3) {
      const flipped = Buffer.from(token);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      let syncReason: string | undefined;
      let asyncReason: string | undefined;
      try {
        fernet.decrypt(flipped);
      } catch (error) {
        syncReason = (error as InvalidToken).reason;
      }
      try {
        await fernet.decryptWithTimestampAsync(flipped);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidToken);
        asyncReason = (error as InvalidToken).reason;
      }
      expect(asyncReason).toBeDefined();
      expect(asyncReason).toBe(syncReason);
    }
  });
});
