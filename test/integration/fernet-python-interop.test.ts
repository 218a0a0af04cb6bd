/**
 * Interop with Python's `cryptography` (the Fernet peer that the Python
 * starter's cache was written with), one batch per direction.
 */
import { createHash, randomBytes, randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Fernet, KeyRing } from "../../lib/index.js";
import { pythonDecrypt, pythonEncrypt, pythonGenerateKeys } from "../helpers/python-fernet.js";

const MiB = 1024 * 1024;
const sha256 = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex");

/** 0 bytes to 1 MiB: block-boundary edge cases, then log-uniform random sizes. */
function payloads(count: number): Buffer[] {
  const edges = [0, 1, 15, 16, 17, 31, 32, 33, 255, 256, 1000, 4096, 65535, 65536, MiB - 1, MiB];
  const sizes = [...edges];
  while (sizes.length < count) sizes.push(Math.floor(Math.exp(Math.random() * Math.log(MiB + 1))) - 1);
  return sizes.map((size) => {
    const bytes = randomBytes(size);
    // Make sure non-UTF-8 sequences are present in every non-trivial payload.
    if (size >= 2) bytes.set([0xff, 0xc3], randomInt(size - 1));
    return bytes;
  });
}

describe("Fernet interop with Python cryptography", () => {
  it("Python decrypts 200+ tokens from this Fernet (0 B to 1 MiB, binary)", async () => {
    const key = Fernet.generateKey();
    const fernet = new Fernet(key);
    const data = payloads(210);
    // Half text tokens, half binary tokens rendered as padded base64url: both are the same format.
    const asText = (bytes: Buffer): string =>
      bytes.toString("base64").replaceAll("+", "-").replaceAll("/", "_");
    const tokens = data.map((p, i) => (i % 2 === 0 ? fernet.encrypt(p) : asText(fernet.encryptToBytes(p))));
    const results = await pythonDecrypt([key], tokens);
    expect(results).toHaveLength(data.length);
    results.forEach((result, i) => {
      expect(result.ok, `payload ${i} (${data[i]!.length} bytes)`).toBe(true);
      expect(result.length).toBe(data[i]!.length);
      expect(result.sha256).toBe(sha256(data[i]!));
    });
  });

  it("decrypts 200+ tokens from Python (0 B to 1 MiB, binary)", async () => {
    const [key] = await pythonGenerateKeys(1);
    const fernet = new Fernet(key!);
    const data = payloads(210);
    const tokens = await pythonEncrypt([key!], data);
    expect(tokens).toHaveLength(data.length);
    tokens.forEach((token, i) => {
      expect(sha256(fernet.decrypt(token)), `payload ${i} (${data[i]!.length} bytes)`).toBe(sha256(data[i]!));
      expect(fernet.decrypt(Buffer.from(token, "base64url")).equals(data[i]!)).toBe(true);
    });
  });

  it("KeyRing reads MultiFernet tokens under every key, and Python reads KeyRing.rotate output", async () => {
    const [oldKey, newKey] = (await pythonGenerateKeys(2)) as [string, string];
    const data = payloads(24).slice(0, 24);
    const underOld = await pythonEncrypt([oldKey], data);
    const underNew = await pythonEncrypt([newKey, oldKey], data);
    const ring = new KeyRing([newKey, oldKey]);
    [...underOld, ...underNew].forEach((token, i) => {
      expect(ring.decrypt(token).equals(data[i % data.length]!)).toBe(true);
    });

    const rotated = underOld.map((token) => ring.rotate(token));
    const originalTimes = underOld.map((token) => new Fernet(oldKey).extractTimestamp(token));
    const results = await pythonDecrypt([newKey], rotated);
    results.forEach((result, i) => {
      expect(result.ok).toBe(true);
      expect(result.sha256).toBe(sha256(data[i]!));
      expect(result.timestamp).toBe(originalTimes[i]);
    });
    // Rotated tokens are under the new key only.
    expect((await pythonDecrypt([oldKey], rotated.slice(0, 3))).map((r) => r.ok)).toEqual([
      false,
      false,
      false,
    ]);
  });

  it("accepts Python's keys and Python accepts ours", async () => {
    const ours = Fernet.generateKey();
    const tokens = await pythonEncrypt([ours], [Buffer.from("from python")]);
    expect(new Fernet(ours).decrypt(tokens[0]!).toString()).toBe("from python");
  });
});
