/**
 * The Fernet spec's own vectors (generate, verify, and the eight invalid
 * cases), read from the installed `cryptography_vectors` package, with the
 * vectors' clock injected through `now`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Fernet, InvalidToken } from "../../lib/index.js";
import type { InvalidTokenReason } from "../../lib/index.js";
import { fernetVectorsDir } from "../helpers/components.js";

interface GenerateVector {
  token: string;
  now: string;
  iv: number[];
  src: string;
  secret: string;
}
interface VerifyVector {
  token: string;
  now: string;
  ttl_sec: number;
  src: string;
  secret: string;
}
interface InvalidVector {
  desc: string;
  token: string;
  now: string;
  ttl_sec: number;
  secret: string;
}

const dir = fernetVectorsDir();
const load = <T>(name: string): T[] => JSON.parse(readFileSync(join(dir, name), "utf8")) as T[];
const seconds = (rfc3339: string): number => Date.parse(rfc3339) / 1000;

/** The check each invalid vector is meant to trip, by its description. */
const EXPECTED_REASON: Record<string, InvalidTokenReason> = {
  "incorrect mac": "hmac",
  "too short": "length",
  "invalid base64": "encoding",
  "payload size not multiple of block size": "length",
  "payload padding error": "padding",
  "far-future TS (unacceptable clock skew)": "future",
  "expired TTL": "expired",
  "incorrect IV (causes padding error)": "padding",
};

describe("Fernet spec vectors", () => {
  it("generate: produces the exact token from the vector's key, time and IV", () => {
    const vectors = load<GenerateVector>("generate.json");
    expect(vectors.length).toBeGreaterThan(0);
    for (const v of vectors) {
      const fernet = new Fernet(v.secret);
      expect(fernet.encrypt(v.src, { now: seconds(v.now), iv: Uint8Array.from(v.iv) })).toBe(v.token);
      expect(fernet.encryptToBytes(v.src, { now: seconds(v.now), iv: Uint8Array.from(v.iv) })).toEqual(
        Buffer.from(v.token, "base64url"),
      );
    }
  });

  it("verify: decrypts each vector within its ttl", () => {
    const vectors = load<VerifyVector>("verify.json");
    expect(vectors.length).toBeGreaterThan(0);
    for (const v of vectors) {
      const fernet = new Fernet(v.secret);
      const opts = { ttl: v.ttl_sec, now: seconds(v.now) };
      expect(fernet.decrypt(v.token, opts).toString("utf8")).toBe(v.src);
      expect(fernet.decrypt(Buffer.from(v.token, "ascii"), opts).toString("utf8")).toBe(v.src);
      expect(fernet.decrypt(Buffer.from(v.token, "base64url"), opts).toString("utf8")).toBe(v.src);
      expect(fernet.extractTimestamp(v.token)).toBe(Math.floor(seconds(v.now)) - 1);
    }
  });

  const invalid = load<InvalidVector>("invalid.json");
  it("has all eight invalid cases", () => {
    expect(invalid.map((v) => v.desc).sort()).toEqual(Object.keys(EXPECTED_REASON).sort());
  });

  it.each(invalid.map((v) => [v.desc, v] as const))("invalid: %s", (_desc, v) => {
    const fernet = new Fernet(v.secret);
    let caught: unknown;
    try {
      fernet.decrypt(v.token, { ttl: v.ttl_sec, now: seconds(v.now) });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidToken);
    expect((caught as InvalidToken).reason).toBe(EXPECTED_REASON[v.desc]);
  });
});
