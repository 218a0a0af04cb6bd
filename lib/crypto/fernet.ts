/**
 * Fernet (https://github.com/fernet/spec), exactly as the spec and Python's
 * `cryptography.fernet` define it, on `node:crypto`.
 *
 * Token layout (all integers big-endian):
 *
 *   0x80 | timestamp (8) | IV (16) | AES-128-CBC ciphertext (16·n) | HMAC-SHA256 (32)
 *
 * The 32-byte key is split into a signing key (first 16 bytes, HMAC) and an
 * encryption key (last 16 bytes, AES). The text form of a token is canonical
 * padded base64url; `encryptToBytes` returns the same token without base64
 * for stores that hold bytes (the cache envelope).
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createSecretKey,
  randomBytes,
  randomFillSync,
  timingSafeEqual,
  webcrypto,
  type KeyObject,
} from "node:crypto";
import { decodeBase64Url, encodeBase64Url, looksLikeBase64Text } from "./base64url.js";
import { InvalidKeyError, InvalidToken } from "./errors.js";

const { subtle } = webcrypto;
type CryptoKey = webcrypto.CryptoKey;

const VERSION = 0x80;
const TIMESTAMP_OFFSET = 1;
const IV_OFFSET = 9;
const IV_LENGTH = 16;
const HEADER_LENGTH = IV_OFFSET + IV_LENGTH; // version, timestamp, IV
const HMAC_LENGTH = 32;
const BLOCK_LENGTH = 16;
/** Header and HMAC around an empty ciphertext; a real token has at least one block more. */
const MIN_TOKEN_LENGTH = HEADER_LENGTH + HMAC_LENGTH;
const KEY_TEXT_LENGTH = 44;
const KEY_LENGTH = 32;

/** How far in the future a token's timestamp may be when a TTL is checked (spec and `cryptography`). */
export const MAX_CLOCK_SKEW_SECONDS = 60;

export interface EncryptOptions {
  /** Timestamp to write, in seconds since the epoch (tests, and `rotate` keeping the original time). */
  now?: number;
  /** The 16-byte IV; random when absent. Only for test vectors: reusing an IV breaks confidentiality. */
  iv?: Uint8Array;
}

export interface DecryptOptions {
  /** Maximum token age in seconds. Without it, as in `cryptography`, no time check is made. */
  ttl?: number;
  /** The current time in seconds since the epoch (an injectable clock). */
  now?: number;
}

/** A token's plaintext with the timestamp it carried. */
export interface OpenedToken {
  plaintext: Buffer;
  timestamp: number;
}

/** Domain label for key ids, so the id can never be mistaken for any other hash of the key. */
const KEY_ID_LABEL = "secure-redis/fernet-key-id/v1\0";
export const KEY_ID_LENGTH = 4;

export class Fernet {
  readonly #signingKey: KeyObject;
  readonly #encryptionKey: KeyObject;
  #webKeys: Promise<{ hmac: CryptoKey; aes: CryptoKey }> | undefined;
  /**
   * A short, stable, public id of this key: the first 4 bytes of
   * SHA-256(label || key), as 8 hex characters. It lets an envelope name its
   * key so that decryption needs no trial; it reveals nothing usable about
   * the key.
   */
  readonly keyId: string;

  /** @param key the 44-character URL-safe base64 key (32 bytes), as `Fernet.generateKey()` returns. */
  constructor(key: string) {
    const raw = parseKey(key);
    try {
      this.#signingKey = createSecretKey(raw.subarray(0, 16));
      this.#encryptionKey = createSecretKey(raw.subarray(16, 32));
      this.keyId = createHash("sha256")
        .update(KEY_ID_LABEL)
        .update(raw)
        .digest()
        .subarray(0, KEY_ID_LENGTH)
        .toString("hex");
    } finally {
      raw.fill(0);
    }
  }

  /** A new random key in the spec's text form. */
  static generateKey(): string {
    return encodeBase64Url(randomBytes(KEY_LENGTH));
  }

  /** Encrypts to the spec's text token (base64url with padding). */
  encrypt(data: Uint8Array | string, opts: EncryptOptions = {}): string {
    return encodeBase64Url(this.encryptToBytes(data, opts));
  }

  /** Encrypts to the raw token bytes: the same token as `encrypt`, before base64. */
  encryptToBytes(data: Uint8Array | string, opts: EncryptOptions = {}): Buffer {
    const plaintext = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    if (!(plaintext instanceof Uint8Array)) throw new TypeError("data must be a Uint8Array or a string");
    const timestamp = opts.now === undefined ? currentTime() : checkedTime(opts.now, "now");
    const iv = opts.iv ?? freshIv();
    if (iv.length !== IV_LENGTH) throw new RangeError(`iv must be ${IV_LENGTH} bytes, got ${iv.length}`);

    const cipher = createCipheriv("aes-128-cbc", this.#encryptionKey, iv);
    const body = cipher.update(plaintext);
    const tail = cipher.final();
    const signedLength = HEADER_LENGTH + body.length + tail.length;
    const token = Buffer.allocUnsafe(signedLength + HMAC_LENGTH);
    token[0] = VERSION;
    writeTimestamp(token, timestamp);
    token.set(iv, IV_OFFSET);
    token.set(body, HEADER_LENGTH);
    token.set(tail, HEADER_LENGTH + body.length);
    const mac = createHmac("sha256", this.#signingKey).update(token.subarray(0, signedLength)).digest();
    token.set(mac, signedLength);
    return token;
  }

  /**
   * Verifies and decrypts a token, in the spec's order: encoding, version,
   * timestamp (only with `ttl`), HMAC (constant time), then decryption and
   * padding. Any failure throws `InvalidToken`.
   *
   * @param token the text token, or its bytes: raw token bytes (first byte
   *   0x80) or the base64url text as bytes (first byte `g`). The two cannot
   *   be confused because 0x80 is not an ASCII character.
   */
  decrypt(token: string | Uint8Array, opts: DecryptOptions = {}): Buffer {
    return this.decryptWithTimestamp(token, opts).plaintext;
  }

  /** Like `decrypt`, also returning the token's timestamp (used by key rotation). */
  decryptWithTimestamp(token: string | Uint8Array, opts: DecryptOptions = {}): OpenedToken {
    const data = tokenBytes(token);
    const timestamp = unverifiedTimestamp(data);
    if (opts.ttl !== undefined) checkTime(timestamp, opts.ttl, opts.now);
    this.#verifyHmac(data);
    return { plaintext: this.#decryptVerified(data), timestamp };
  }

  /** The token's timestamp (seconds since the epoch), after verifying its HMAC. */
  extractTimestamp(token: string | Uint8Array): number {
    const data = tokenBytes(token);
    const timestamp = unverifiedTimestamp(data);
    this.#verifyHmac(data);
    return timestamp;
  }

  /**
   * `encryptToBytes` off the main thread: AES and HMAC run as WebCrypto jobs
   * on libuv's thread pool, so a 1 MiB value does not stall other requests.
   * Same token format; worth it above some tens of KiB (a job has ~20 µs of
   * fixed cost).
   */
  async encryptToBytesAsync(data: Uint8Array | string, opts: EncryptOptions = {}): Promise<Buffer> {
    const plaintext = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    if (!(plaintext instanceof Uint8Array)) throw new TypeError("data must be a Uint8Array or a string");
    const timestamp = opts.now === undefined ? currentTime() : checkedTime(opts.now, "now");
    const iv = Buffer.from(opts.iv ?? freshIv());
    if (iv.length !== IV_LENGTH) throw new RangeError(`iv must be ${IV_LENGTH} bytes, got ${iv.length}`);
    const keys = await this.#cryptoKeys();
    const ciphertext = new Uint8Array(await subtle.encrypt({ name: "AES-CBC", iv }, keys.aes, plaintext));
    const signedLength = HEADER_LENGTH + ciphertext.length;
    const token = Buffer.allocUnsafe(signedLength + HMAC_LENGTH);
    token[0] = VERSION;
    writeTimestamp(token, timestamp);
    token.set(iv, IV_OFFSET);
    token.set(ciphertext, HEADER_LENGTH);
    const mac = await subtle.sign("HMAC", keys.hmac, token.subarray(0, signedLength));
    token.set(new Uint8Array(mac), signedLength);
    return token;
  }

  /** `decryptWithTimestamp` off the main thread (see `encryptToBytesAsync`); same checks, same order. */
  async decryptWithTimestampAsync(
    token: string | Uint8Array,
    opts: DecryptOptions = {},
  ): Promise<OpenedToken> {
    const data = tokenBytes(token);
    const timestamp = unverifiedTimestamp(data);
    if (opts.ttl !== undefined) checkTime(timestamp, opts.ttl, opts.now);
    if (data.length < MIN_TOKEN_LENGTH) throw new InvalidToken("length");
    const keys = await this.#cryptoKeys();
    const signedLength = data.length - HMAC_LENGTH;
    // WebCrypto's HMAC verify compares in constant time.
    const valid = await subtle.verify(
      "HMAC",
      keys.hmac,
      data.subarray(signedLength),
      data.subarray(0, signedLength),
    );
    if (!valid) throw new InvalidToken("hmac");
    const ciphertext = data.subarray(HEADER_LENGTH, signedLength);
    if (ciphertext.length === 0 || ciphertext.length % BLOCK_LENGTH !== 0) throw new InvalidToken("length");
    let plaintext: ArrayBuffer;
    try {
      plaintext = await subtle.decrypt(
        { name: "AES-CBC", iv: data.subarray(IV_OFFSET, HEADER_LENGTH) },
        keys.aes,
        ciphertext,
      );
    } catch {
      throw new InvalidToken("padding");
    }
    return { plaintext: Buffer.from(plaintext), timestamp };
  }

  #cryptoKeys(): Promise<{ hmac: CryptoKey; aes: CryptoKey }> {
    this.#webKeys ??= Promise.resolve({
      hmac: this.#signingKey.toCryptoKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]),
      aes: this.#encryptionKey.toCryptoKey({ name: "AES-CBC" }, false, ["encrypt", "decrypt"]),
    });
    return this.#webKeys;
  }

  #verifies(data: Buffer): boolean {
    if (data.length < MIN_TOKEN_LENGTH) return false;
    const signedLength = data.length - HMAC_LENGTH;
    const expected = createHmac("sha256", this.#signingKey).update(data.subarray(0, signedLength)).digest();
    return timingSafeEqual(expected, data.subarray(signedLength));
  }

  #verifyHmac(data: Buffer): void {
    if (data.length < MIN_TOKEN_LENGTH) throw new InvalidToken("length");
    if (!this.#verifies(data)) throw new InvalidToken("hmac");
  }

  #decryptVerified(data: Buffer): Buffer {
    const ciphertext = data.subarray(HEADER_LENGTH, data.length - HMAC_LENGTH);
    if (ciphertext.length === 0 || ciphertext.length % BLOCK_LENGTH !== 0) {
      throw new InvalidToken("length");
    }
    try {
      const decipher = createDecipheriv(
        "aes-128-cbc",
        this.#encryptionKey,
        data.subarray(IV_OFFSET, HEADER_LENGTH),
      );
      const body = decipher.update(ciphertext);
      const tail = decipher.final();
      return tail.length === 0 ? body : Buffer.concat([body, tail]);
    } catch {
      // OpenSSL's message is dropped on purpose: only the check that failed is reported.
      throw new InvalidToken("padding");
    }
  }
}

/**
 * IVs are cut from a pool of CSPRNG bytes, each 16-byte slice used exactly
 * once: `randomBytes(16)` per token cost 2-3 µs, a quarter of a small
 * encryption. The pool is refilled when used up; nothing is ever reused.
 */
const IV_POOL_SIZE = IV_LENGTH * 256;
const ivPool = Buffer.alloc(IV_POOL_SIZE);
let ivOffset = IV_POOL_SIZE;

function freshIv(): Buffer {
  if (ivOffset === IV_POOL_SIZE) {
    randomFillSync(ivPool);
    ivOffset = 0;
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + IV_LENGTH);
  ivOffset += IV_LENGTH;
  return iv;
}

/** Decodes a token argument into raw token bytes (no copy for raw bytes). */
export function tokenBytes(token: string | Uint8Array): Buffer {
  if (typeof token === "string") return decodeTokenText(token);
  if (!(token instanceof Uint8Array)) throw new TypeError("token must be a string or a Uint8Array");
  const bytes = Buffer.from(token.buffer, token.byteOffset, token.byteLength);
  if (bytes.length > 0 && bytes[0] !== VERSION && looksLikeBase64Text(bytes)) {
    return decodeTokenText(bytes.toString("latin1"));
  }
  return bytes;
}

function decodeTokenText(text: string): Buffer {
  const decoded = decodeBase64Url(text);
  if (decoded.bytes === undefined) throw new InvalidToken("encoding");
  return decoded.bytes;
}

/** Version byte and timestamp, before anything is authenticated. */
export function unverifiedTimestamp(data: Buffer): number {
  if (data.length === 0) throw new InvalidToken("version");
  if (data[0] !== VERSION) throw new InvalidToken("version");
  if (data.length < IV_OFFSET) throw new InvalidToken("length");
  return data.readUInt32BE(TIMESTAMP_OFFSET) * 2 ** 32 + data.readUInt32BE(TIMESTAMP_OFFSET + 4);
}

function checkTime(timestamp: number, ttl: number, now: number | undefined): void {
  const ttlSeconds = checkedTime(ttl, "ttl");
  const current = now === undefined ? currentTime() : checkedTime(now, "now");
  if (timestamp + ttlSeconds < current) throw new InvalidToken("expired");
  if (current + MAX_CLOCK_SKEW_SECONDS < timestamp) {
    throw new InvalidToken("future");
  }
}

function writeTimestamp(token: Buffer, seconds: number): void {
  token.writeUInt32BE(Math.floor(seconds / 2 ** 32), TIMESTAMP_OFFSET);
  token.writeUInt32BE(seconds % 2 ** 32, TIMESTAMP_OFFSET + 4);
}

function currentTime(): number {
  return Math.floor(Date.now() / 1000);
}

function checkedTime(value: number, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`${name} must be a non-negative number of seconds`);
  }
  return Math.floor(value);
}

/** Parses a key, explaining what is wrong without echoing it. */
function parseKey(key: string): Buffer {
  if (typeof key !== "string") {
    throw new InvalidKeyError("a Fernet key must be a string of 44 URL-safe base64 characters");
  }
  if (key.length !== KEY_TEXT_LENGTH) {
    throw new InvalidKeyError(
      `a Fernet key must be 44 characters of URL-safe base64 (32 bytes), got ${key.length} characters`,
    );
  }
  if (!key.endsWith("=") || key.endsWith("==")) {
    throw new InvalidKeyError(
      "a Fernet key must end in exactly one = (43 base64url characters encode 32 bytes)",
    );
  }
  const decoded = decodeBase64Url(key);
  if (decoded.bytes === undefined || decoded.bytes.length !== KEY_LENGTH) {
    const where = decoded.position === undefined ? "" : ` at position ${decoded.position + 1}`;
    const what =
      decoded.problem === "padding"
        ? "is not canonical base64url (non-zero bits before the padding)"
        : `has a character outside the URL-safe base64 alphabet (A-Z a-z 0-9 - _, then one =)${where}`;
    throw new InvalidKeyError(`the Fernet key ${what}`);
  }
  return decoded.bytes;
}
