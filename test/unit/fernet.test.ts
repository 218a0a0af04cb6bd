import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Fernet, InvalidKeyError, InvalidToken, MAX_CLOCK_SKEW_SECONDS } from "../../lib/index.js";
import { expectThrowsWithoutSecrets } from "../helpers/canary.js";

const key = Fernet.generateKey();
const fernet = new Fernet(key);

/** A token whose standard-base64 form differs from base64url (it has a + or a /). */
function standardBase64Token(): string {
  for (;;) {
    const text = fernet.encryptToBytes("hello").toString("base64");
    if (/[+/]/.test(text)) return text;
  }
}

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidToken) return error.reason;
    throw error;
  }
  return undefined;
}

describe("Fernet keys", () => {
  it("generates 44-character URL-safe keys that decode to 32 bytes, all different", () => {
    const keys = new Set(Array.from({ length: 50 }, () => Fernet.generateKey()));
    expect(keys.size).toBe(50);
    for (const k of keys) {
      expect(k).toMatch(/^[A-Za-z0-9_-]{43}=$/);
      expect(Buffer.from(k, "base64url")).toHaveLength(32);
    }
  });

  it.each([
    ["too short", key.slice(0, 43), /44 characters.*got 43/],
    ["too long", key + "A", /44 characters.*got 45/],
    ["empty", "", /got 0/],
    ["standard base64 alphabet", key.slice(0, 10) + "+" + key.slice(11), /alphabet.*position 11/],
    ["bad character", key.slice(0, 5) + "*" + key.slice(6), /alphabet.*position 6/],
    ["double padding", key.slice(0, 42) + "==", /exactly one =/],
    ["no padding", key.slice(0, 43) + "A", /exactly one =/],
    ["non-zero bits before padding", key.slice(0, 42) + "B=", /not canonical/],
  ])("rejects a key that is %s, saying why without printing it", (_what, bad, message) => {
    const error = expectThrowsWithoutSecrets(() => new Fernet(bad), [key, bad]);
    expect(error).toBeInstanceOf(InvalidKeyError);
    expect(error.message).toMatch(message);
  });

  it("rejects a key that is not a string", () => {
    expect(() => new Fernet(Buffer.alloc(32) as unknown as string)).toThrow(InvalidKeyError);
  });

  it("has a stable 8-hex key id that differs between keys and is not part of the key", () => {
    const again = new Fernet(key);
    expect(again.keyId).toBe(fernet.keyId);
    expect(fernet.keyId).toMatch(/^[0-9a-f]{8}$/);
    expect(new Fernet(Fernet.generateKey()).keyId).not.toBe(fernet.keyId);
    expect(Buffer.from(key, "base64url").toString("hex")).not.toContain(fernet.keyId);
  });
});

describe("Fernet tokens", () => {
  it("round-trips any bytes, in text and binary form", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (data) => {
        const token = fernet.encrypt(data);
        expect(token).toMatch(/^gAAAAA[A-Za-z0-9_-]*={0,2}$/);
        expect(fernet.decrypt(token)).toEqual(Buffer.from(data));
        const bytes = fernet.encryptToBytes(data);
        expect(bytes[0]).toBe(0x80);
        expect(fernet.decrypt(bytes)).toEqual(Buffer.from(data));
      }),
      { numRuns: 300 },
    );
  });

  it("round-trips strings as UTF-8", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (text) => {
        expect(fernet.decrypt(fernet.encrypt(text)).toString("utf8")).toBe(text);
      }),
    );
  });

  it("rejects a token when any single bit of its bytes is flipped", () => {
    const token = fernet.encryptToBytes("a secret answer");
    fc.assert(
      fc.property(fc.nat({ max: token.length * 8 - 1 }), (bit) => {
        const flipped = Buffer.from(token);
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        expect(() => fernet.decrypt(flipped)).toThrow(InvalidToken);
      }),
      { numRuns: 500 },
    );
  });

  it("rejects a text token when any single bit of any character is flipped", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(), fc.nat({ max: 7 }), (data, at, bit) => {
        const token = fernet.encrypt(data);
        const index = at % token.length;
        const chars = Buffer.from(token, "latin1");
        chars[index]! ^= 1 << bit;
        expect(() => fernet.decrypt(chars.toString("latin1"))).toThrow(InvalidToken);
      }),
      { numRuns: 2000 },
    );
  });

  it("checks every bit of the last base64 character (no lenient padding bits)", () => {
    // A token's last data character may carry bits that are not part of the
    // bytes; a lenient decoder would accept it with those bits changed.
    for (let length = 0; length < 48; length++) {
      const token = fernet.encrypt(Buffer.alloc(length, 7));
      const dataEnd = token.replace(/=+$/, "").length;
      for (let bit = 0; bit < 6; bit++) {
        const chars = Buffer.from(token, "latin1");
        chars[dataEnd - 1]! ^= 1 << bit;
        expect(() => fernet.decrypt(chars.toString("latin1"))).toThrow(InvalidToken);
      }
    }
  });

  it("never decrypts under another key", () => {
    const other = new Fernet(Fernet.generateKey());
    expect(reasonOf(() => other.decrypt(fernet.encrypt("x")))).toBe("hmac");
  });

  it("applies ttl and the 60 s clock-skew limit only when a ttl is given", () => {
    const t = 1_700_000_000;
    const token = fernet.encrypt("x", { now: t });
    expect(fernet.decrypt(token, { ttl: 10, now: t + 10 }).toString()).toBe("x");
    expect(reasonOf(() => fernet.decrypt(token, { ttl: 10, now: t + 11 }))).toBe("expired");
    expect(fernet.decrypt(token, { ttl: 10, now: t - MAX_CLOCK_SKEW_SECONDS }).toString()).toBe("x");
    expect(reasonOf(() => fernet.decrypt(token, { ttl: 10, now: t - MAX_CLOCK_SKEW_SECONDS - 1 }))).toBe(
      "future",
    );
    // Without a ttl, like cryptography, age and skew are not checked.
    expect(fernet.decrypt(token, { now: t + 10 ** 6 }).toString()).toBe("x");
    expect(fernet.decrypt(token, { now: t - 10 ** 6 }).toString()).toBe("x");
  });

  it("checks the HMAC before the time, so a forged token cannot probe the clock", () => {
    const t = 1_700_000_000;
    const token = fernet.encryptToBytes("x", { now: t });
    // Expired tokens report expiry first (spec order), but a token whose HMAC
    // fails within its ttl reports the HMAC.
    const forged = Buffer.from(token);
    forged[forged.length - 1]! ^= 1;
    expect(reasonOf(() => fernet.decrypt(forged, { ttl: 100, now: t }))).toBe("hmac");
  });

  it("extracts the timestamp only after verifying the HMAC", () => {
    const token = fernet.encrypt("x", { now: 1234567890 });
    expect(fernet.extractTimestamp(token)).toBe(1234567890);
    const other = new Fernet(Fernet.generateKey());
    expect(reasonOf(() => other.extractTimestamp(token))).toBe("hmac");
  });

  it("writes and reads timestamps beyond 32 bits", () => {
    const t = 2 ** 40 + 5;
    expect(fernet.extractTimestamp(fernet.encrypt("x", { now: t }))).toBe(t);
  });

  it.each([
    ["empty string", "", "version"],
    ["empty bytes", new Uint8Array(0), "version"],
    ["wrong version", Buffer.from([0x81, ...new Array<number>(80).fill(0)]), "version"],
    ["truncated", fernet.encryptToBytes("hello").subarray(0, 40), "length"],
    ["unpadded text", fernet.encrypt("hello").replace(/=+$/, ""), "encoding"],
    ["standard base64 (+ or /)", standardBase64Token(), "encoding"],
    ["whitespace", " " + fernet.encrypt("hello"), "encoding"],
  ])("rejects %s", (_what, token, reason) => {
    expect(reasonOf(() => fernet.decrypt(token))).toBe(reason);
  });

  it("validates its options", () => {
    expect(() => fernet.encrypt("x", { iv: new Uint8Array(15) })).toThrow(RangeError);
    expect(() => fernet.encrypt("x", { now: -1 })).toThrow(RangeError);
    expect(() => fernet.decrypt(fernet.encrypt("x"), { ttl: Number.NaN })).toThrow(RangeError);
    expect(() => fernet.decrypt(42 as unknown as string)).toThrow(TypeError);
  });

  it("never puts the key or the plaintext in an error (canary)", () => {
    const canaryKey = Fernet.generateKey();
    const canary = "CANARY-plaintext-7f3a9c";
    const f = new Fernet(canaryKey);
    const token = f.encryptToBytes(canary);
    const secrets = [canaryKey, Buffer.from(canaryKey, "base64url"), canary];
    const tampered: Buffer[] = [];
    for (let i = 0; i < token.length; i += 7) {
      const copy = Buffer.from(token);
      copy[i]! ^= 0x40;
      tampered.push(copy);
    }
    for (const bad of tampered) {
      expectThrowsWithoutSecrets(() => f.decrypt(bad, { ttl: 60 }), secrets);
      expectThrowsWithoutSecrets(() => f.decrypt(bad.toString("base64url")), secrets);
    }
    expectThrowsWithoutSecrets(() => new Fernet(Fernet.generateKey()).decrypt(token), secrets);
    expectThrowsWithoutSecrets(() => new Fernet(canaryKey.slice(0, 40) + "*==="), secrets);
  });
});
