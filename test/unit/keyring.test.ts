import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigurationError, Fernet, InvalidKeyError, InvalidToken, KeyRing } from "../../lib/index.js";
import { assertNoSecret, expectThrowsWithoutSecrets, visibleText } from "../helpers/canary.js";

const [k1, k2, k3] = [Fernet.generateKey(), Fernet.generateKey(), Fernet.generateKey()] as [
  string,
  string,
  string,
];
const dir = mkdtempSync(join(tmpdir(), "keyring-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("KeyRing", () => {
  it("encrypts with the primary and decrypts with any key (MultiFernet semantics)", () => {
    const old = new KeyRing([k1]);
    const ring = new KeyRing([k2, k1]);
    const oldToken = old.encrypt("old");
    const newToken = ring.encrypt("new");
    expect(ring.decrypt(oldToken).toString()).toBe("old");
    expect(ring.decrypt(newToken).toString()).toBe("new");
    expect(new Fernet(k2).decrypt(newToken).toString()).toBe("new");
    expect(() => old.decrypt(newToken)).toThrow(InvalidToken);
  });

  it("names keys by id, primary first, and decrypts by id without trial", () => {
    const ring = new KeyRing([k2, k1]);
    expect(ring.keyIds).toEqual([new Fernet(k2).keyId, new Fernet(k1).keyId]);
    expect(ring.primaryKeyId).toBe(new Fernet(k2).keyId);
    expect(ring.size).toBe(2);
    const token = new Fernet(k1).encryptToBytes("by id");
    expect(ring.decryptWithKeyId(new Fernet(k1).keyId, token).toString()).toBe("by id");
    expect(() => ring.decryptWithKeyId(new Fernet(k2).keyId, token)).toThrow(/HMAC/);
    let reason: string | undefined;
    try {
      ring.decryptWithKeyId("deadbeef", token);
    } catch (error) {
      reason = error instanceof InvalidToken ? error.reason : undefined;
    }
    expect(reason).toBe("unknown-key");
  });

  it("rotates a token under the primary, keeping its original timestamp", () => {
    const t = 1_600_000_000;
    const token = new Fernet(k1).encrypt("payload", { now: t });
    const rotated = new KeyRing([k2, k1]).rotate(token);
    expect(new Fernet(k2).decrypt(rotated).toString()).toBe("payload");
    expect(new Fernet(k2).extractTimestamp(rotated)).toBe(t);
    expect(() => new Fernet(k1).decrypt(rotated)).toThrow(InvalidToken);
    expect(() => new KeyRing([k3]).rotate(token)).toThrow(InvalidToken);
  });

  it("reports expiry once, not as an HMAC failure of every other key", () => {
    const t = 1_600_000_000;
    const token = new Fernet(k1).encrypt("x", { now: t });
    try {
      new KeyRing([k2, k1]).decrypt(token, { ttl: 1, now: t + 100 });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidToken);
      expect((error as InvalidToken).reason).toBe("expired");
    }
  });

  it("rejects an empty ring, invalid keys and duplicates by position, never echoing a key", () => {
    expect(() => new KeyRing([])).toThrow(InvalidKeyError);
    const bad = k3.slice(0, 30);
    const invalid = expectThrowsWithoutSecrets(() => new KeyRing([k1, bad, k2]), [k1, k2, bad]);
    expect(invalid.message).toMatch(/^key 2 of 3: .*44 characters/);
    const duplicate = expectThrowsWithoutSecrets(() => new KeyRing([k1, k2, k1]), [k1, k2]);
    expect(duplicate.message).toMatch(/key 3 of 3 is the same key as key 1/);
  });
});

describe("KeyRing.parse and fromEnv", () => {
  it("parses comma- and newline-separated lists, trimming blanks and a trailing separator", () => {
    expect(KeyRing.parse(` ${k1} , ${k2}\n${k3}\n`).keyIds).toEqual(new KeyRing([k1, k2, k3]).keyIds);
  });

  it("rejects an empty entry by position", () => {
    const error = expectThrowsWithoutSecrets(
      () => KeyRing.parse(`${k1},,${k2}`, "REDIS_ENCRYPTION_KEYS"),
      [k1, k2],
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(
      "REDIS_ENCRYPTION_KEYS: key 2 of 3 is empty; separate keys with single commas, primary first",
    );
  });

  it("names the variable and position of an invalid or duplicate key", () => {
    const error = expectThrowsWithoutSecrets(
      () => KeyRing.fromEnv({ REDIS_ENCRYPTION_KEYS: `${k1},${k1}` }),
      [k1],
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).setting).toBe("REDIS_ENCRYPTION_KEYS");
    expect(error.message).toMatch(/^REDIS_ENCRYPTION_KEYS: key 2 of 2 is the same key as key 1/);
  });

  it("reads REDIS_ENCRYPTION_KEYS, REDIS_ENCRYPTION_KEY and their _FILE forms", () => {
    expect(KeyRing.fromEnv({})).toBeUndefined();
    expect(KeyRing.fromEnv({ REDIS_ENCRYPTION_KEYS: "" })).toBeUndefined();
    expect(KeyRing.fromEnv({ REDIS_ENCRYPTION_KEYS: `${k2},${k1}` })?.keyIds).toEqual(
      new KeyRing([k2, k1]).keyIds,
    );
    expect(KeyRing.fromEnv({ REDIS_ENCRYPTION_KEY: k1 })?.primaryKeyId).toBe(new Fernet(k1).keyId);
    const many = join(dir, "keys");
    writeFileSync(many, `${k3}\n${k1}\n`, { mode: 0o600 });
    expect(KeyRing.fromEnv({ REDIS_ENCRYPTION_KEYS_FILE: many })?.keyIds).toEqual(
      new KeyRing([k3, k1]).keyIds,
    );
    const one = join(dir, "key");
    writeFileSync(one, `${k2}\n`, { mode: 0o600 });
    expect(KeyRing.fromEnv({ REDIS_ENCRYPTION_KEY_FILE: one })?.primaryKeyId).toBe(new Fernet(k2).keyId);
  });

  it("refuses conflicting variables and a list in the single-key variable", () => {
    expect(() => KeyRing.fromEnv({ REDIS_ENCRYPTION_KEYS: k1, REDIS_ENCRYPTION_KEY: k2 })).toThrow(
      /both REDIS_ENCRYPTION_KEYS and REDIS_ENCRYPTION_KEY are set/,
    );
    expect(() => KeyRing.fromEnv({ REDIS_ENCRYPTION_KEY: k1, REDIS_ENCRYPTION_KEY_FILE: "/x" })).toThrow(
      /both REDIS_ENCRYPTION_KEY and REDIS_ENCRYPTION_KEY_FILE are set/,
    );
    const error = expectThrowsWithoutSecrets(
      () => KeyRing.fromEnv({ REDIS_ENCRYPTION_KEY: `${k1},${k2}` }),
      [k1, k2],
    );
    expect(error.message).toMatch(/^REDIS_ENCRYPTION_KEY: holds more than one key/);
  });

  it("explains a missing file and, when asked, refuses a file others can read", () => {
    expect(() => KeyRing.fromEnv({ REDIS_ENCRYPTION_KEY_FILE: join(dir, "missing") })).toThrow(
      /REDIS_ENCRYPTION_KEY_FILE: cannot read the secret file .*missing \(ENOENT\)/,
    );
    const open = join(dir, "open-key");
    writeFileSync(open, k1);
    chmodSync(open, 0o644);
    const error = expectThrowsWithoutSecrets(
      () => KeyRing.fromEnv({ REDIS_ENCRYPTION_KEY_FILE: open }, { requireOwnerOnly: true }),
      [k1],
    );
    expect(error.message).toMatch(/readable by group or others \(mode 644\); run: chmod 600/);
    expect(KeyRing.fromEnv({ REDIS_ENCRYPTION_KEY_FILE: open })?.size).toBe(1);
  });

  it("keeps keys out of the ring's inspected form", () => {
    const ring = new KeyRing([k1, k2]);
    assertNoSecret(visibleText(ring) + JSON.stringify(ring), [k1, k2, Buffer.from(k1, "base64url")]);
  });
});
