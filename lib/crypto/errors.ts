import { SecureRedisError } from "../errors.js";

/** Which check of the Fernet spec a token failed. */
export type InvalidTokenReason =
  | "encoding" // not canonical base64url
  | "version" // empty, or first byte is not 0x80
  | "length" // too short, or ciphertext not whole AES blocks
  | "expired" // older than the ttl
  | "future" // timestamp beyond the allowed clock skew
  | "hmac" // HMAC does not verify under the key (or under any key of a ring)
  | "unknown-key" // names a key id the ring does not hold
  | "padding"; // decrypted, but the PKCS#7 padding is invalid

const DESCRIPTIONS: Record<InvalidTokenReason, string> = {
  encoding: "not canonical base64url",
  version: "empty or unsupported version byte",
  length: "too short, or the ciphertext is not a whole number of AES blocks",
  expired: "expired (older than the ttl)",
  future: "timestamp too far in the future (clock skew over 60 s)",
  hmac: "HMAC verification failed",
  "unknown-key": "its key id is not in the key ring",
  padding: "invalid padding",
};

/**
 * A Fernet token failed one of the checks of the spec. `reason` names the
 * check; the message describes it and never carries the key, the plaintext
 * or any byte of the token.
 *
 * Named like Python's `cryptography.fernet.InvalidToken` on purpose: one
 * error type for "this token is not acceptable", whatever the reason, so
 * callers fail closed with a single catch.
 */
export class InvalidToken extends SecureRedisError {
  readonly reason: InvalidTokenReason;
  constructor(reason: InvalidTokenReason) {
    super(`Fernet token rejected: ${DESCRIPTIONS[reason]}`);
    this.reason = reason;
  }
}

/**
 * A Fernet key (or a list of them) is malformed. The message says what is
 * wrong (length, alphabet, duplicate, position in a list) and never the key.
 */
export class InvalidKeyError extends SecureRedisError {}
