/**
 * Connection failures of the secure client, one type per family so that an
 * app can react to each (alert on auth, page on TLS, retry on connection).
 * Messages name the endpoint, the user and the fix; never a password.
 * docs/troubleshooting.md quotes each message and what to do about it.
 */
import { SecureRedisError } from "../errors.js";

/** Authentication failed `attempts` times in a row; the client stopped reconnecting. */
export class RedisAuthError extends SecureRedisError {
  readonly user: string;
  readonly attempts: number;
  /** The server's error code: WRONGPASS (bad credentials or disabled user) or NOAUTH (no credentials sent). */
  readonly reason: "WRONGPASS" | "NOAUTH";
  constructor(user: string, attempts: number, reason: "WRONGPASS" | "NOAUTH", endpoint: string) {
    const fix =
      reason === "NOAUTH"
        ? "the server requires authentication: set REDIS_USERNAME and REDIS_PASSWORD_FILE (or REDIS_PASSWORD)"
        : `check REDIS_USERNAME and the password (REDIS_PASSWORD_FILE or REDIS_PASSWORD), and that the user "${user}" exists and is enabled on the server (ACL LIST)`;
    super(
      `authentication as "${user}" at ${endpoint} failed ${attempts} times in a row (${reason}); ` +
        `stopped reconnecting so as not to hammer the server. Fix: ${fix}`,
    );
    this.user = user;
    this.attempts = attempts;
    this.reason = reason;
  }
}

/** The TLS handshake failed: the certificate was not trusted, expired, or did not match the name. */
export class RedisTlsError extends SecureRedisError {
  /** Node's error code, e.g. CERT_HAS_EXPIRED, UNABLE_TO_VERIFY_LEAF_SIGNATURE, ERR_TLS_CERT_ALTNAME_INVALID. */
  readonly code: string;
  constructor(code: string, detail: string, fix: string, endpoint: string) {
    super(`TLS handshake with ${endpoint} failed: ${detail} (${code}). Fix: ${fix}`);
    this.code = code;
  }
}

/** The server could not be reached, or closed the connection before it was ready. */
export class RedisConnectionError extends SecureRedisError {
  /** Node's error code when there is one (ECONNREFUSED, ETIMEDOUT, ...). */
  readonly code: string | undefined;
  readonly attempts: number;
  constructor(endpoint: string, attempts: number, detail: string, fix: string, code?: string) {
    super(`could not connect to ${endpoint} after ${attempts} attempts: ${detail}. Fix: ${fix}`);
    this.code = code;
    this.attempts = attempts;
  }
}
