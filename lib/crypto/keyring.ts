/**
 * KeyRing: an ordered list of Fernet keys, primary first, with the semantics
 * of Python's `MultiFernet` (encrypt with the primary, decrypt with any,
 * `rotate` re-encrypts under the primary keeping the original timestamp),
 * plus a key id per key so that a value that names its key is decrypted
 * without trial.
 */
import { ConfigurationError } from "../errors.js";
import { readSetting, type SecretFileOptions } from "../config/secret-file.js";
import { InvalidKeyError, InvalidToken } from "./errors.js";
import { Fernet, tokenBytes, type DecryptOptions, type EncryptOptions, type OpenedToken } from "./fernet.js";

export class KeyRing {
  readonly #fernets: readonly Fernet[];
  readonly #byId: ReadonlyMap<string, Fernet>;

  /**
   * @param keys Fernet keys (text form) or `Fernet` instances, primary first.
   * @throws InvalidKeyError naming the position (1-based) of a malformed or duplicate key.
   */
  constructor(keys: ReadonlyArray<string | Fernet>) {
    if (typeof keys === "string") {
      throw new InvalidKeyError("pass an array of keys; for a comma-separated list use KeyRing.parse");
    }
    if (keys.length === 0) throw new InvalidKeyError("a key ring needs at least one Fernet key");
    const fernets: Fernet[] = [];
    const byId = new Map<string, Fernet>();
    const positionOf = new Map<string, number>();
    keys.forEach((key, index) => {
      const position = index + 1;
      let fernet: Fernet;
      try {
        fernet = key instanceof Fernet ? key : new Fernet(key);
      } catch (error) {
        if (!(error instanceof InvalidKeyError)) throw error;
        throw new InvalidKeyError(`key ${position} of ${keys.length}: ${error.message}`);
      }
      const earlier = positionOf.get(fernet.keyId);
      if (earlier !== undefined) {
        throw new InvalidKeyError(
          `key ${position} of ${keys.length} is the same key as key ${earlier} (same key id); remove the duplicate`,
        );
      }
      positionOf.set(fernet.keyId, position);
      byId.set(fernet.keyId, fernet);
      fernets.push(fernet);
    });
    this.#fernets = fernets;
    this.#byId = byId;
  }

  /**
   * Parses a comma- or newline-separated list, primary first. `source` names
   * where the list came from in error messages (a variable name).
   */
  static parse(list: string, source = "the key list"): KeyRing {
    const keys = list.split(/[,\n]/).map((key) => key.trim());
    if (keys.length > 1 && keys[keys.length - 1] === "") keys.pop(); // a trailing separator
    const empty = keys.indexOf("");
    if (empty !== -1) {
      throw new ConfigurationError(
        source,
        `key ${empty + 1} of ${keys.length} is empty; separate keys with single commas, primary first`,
      );
    }
    try {
      return new KeyRing(keys);
    } catch (error) {
      if (error instanceof InvalidKeyError) throw new ConfigurationError(source, error.message);
      throw error;
    }
  }

  /**
   * The key ring configured in the environment, or undefined when none is.
   * Reads one of `REDIS_ENCRYPTION_KEYS` (comma separated, primary first),
   * `REDIS_ENCRYPTION_KEY` (one key), or their `*_FILE` forms.
   */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, opts: SecretFileOptions = {}): KeyRing | undefined {
    const many = readSetting(env, "REDIS_ENCRYPTION_KEYS", opts);
    const one = readSetting(env, "REDIS_ENCRYPTION_KEY", opts);
    if (many !== undefined && one !== undefined) {
      throw new ConfigurationError(
        "REDIS_ENCRYPTION_KEYS",
        `both ${many.source} and ${one.source} are set; use REDIS_ENCRYPTION_KEYS alone (primary first)`,
      );
    }
    const setting = many ?? one;
    if (setting === undefined) return undefined;
    const ring = KeyRing.parse(setting.value, setting.source);
    if (one !== undefined && ring.size > 1) {
      throw new ConfigurationError(
        one.source,
        "holds more than one key; put a list of keys in REDIS_ENCRYPTION_KEYS instead",
      );
    }
    return ring;
  }

  /** Number of keys. */
  get size(): number {
    return this.#fernets.length;
  }

  get primary(): Fernet {
    return this.#fernets[0] as Fernet;
  }

  get primaryKeyId(): string {
    return this.primary.keyId;
  }

  /** Key ids in ring order, primary first. */
  get keyIds(): string[] {
    return this.#fernets.map((fernet) => fernet.keyId);
  }

  /** The key with this id, or undefined. */
  get(keyId: string): Fernet | undefined {
    return this.#byId.get(keyId);
  }

  encrypt(data: Uint8Array | string, opts?: EncryptOptions): string {
    return this.primary.encrypt(data, opts);
  }

  encryptToBytes(data: Uint8Array | string, opts?: EncryptOptions): Buffer {
    return this.primary.encryptToBytes(data, opts);
  }

  /** Decrypts with whichever key verifies the token (MultiFernet semantics). */
  decrypt(token: string | Uint8Array, opts?: DecryptOptions): Buffer {
    return this.#open(token, opts).plaintext;
  }

  /** Decrypts with the key named by `keyId`, with no trial of the others. */
  decryptWithKeyId(keyId: string, token: string | Uint8Array, opts?: DecryptOptions): Buffer {
    const fernet = this.#byId.get(keyId);
    if (fernet === undefined) throw new InvalidToken("unknown-key");
    return fernet.decrypt(token, opts);
  }

  /**
   * Re-encrypts a token under the primary key, keeping its original
   * timestamp, like `MultiFernet.rotate`. Throws `InvalidToken` when no key
   * of the ring verifies it.
   */
  rotate(token: string | Uint8Array): string {
    const opened = this.#open(token);
    return this.primary.encrypt(opened.plaintext, { now: opened.timestamp });
  }

  /** The token's timestamp, after verifying it under some key of the ring. */
  extractTimestamp(token: string | Uint8Array): number {
    return this.#open(token).timestamp;
  }

  #open(token: string | Uint8Array, opts?: DecryptOptions): OpenedToken {
    const data = tokenBytes(token); // decode once, not once per key
    let last: InvalidToken | undefined;
    for (const fernet of this.#fernets) {
      try {
        return fernet.decryptWithTimestamp(data, opts);
      } catch (error) {
        if (!(error instanceof InvalidToken)) throw error;
        last = error;
        // Only an HMAC mismatch depends on the key; any other failure is the
        // token's own, and no other key can do better.
        if (error.reason !== "hmac") break;
      }
    }
    throw last ?? new InvalidToken("hmac");
  }
}
