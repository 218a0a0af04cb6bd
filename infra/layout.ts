/**
 * Where secret material lives inside the containers. One table, read by the
 * configuration container (which writes the files), the Redis container
 * (server arguments, healthcheck) and the backend (its `*_FILE` variables).
 *
 * Each volume holds generation directories (`gen-<stamp>/`) and a `current`
 * symlink that the configuration container switches with one rename, so a
 * reader sees either the whole old set or the whole new set, never a
 * certificate from one and a key from the other.
 */

/** The Redis container's view of its configuration volume (mounted read-only). */
export const REDIS_SECRETS_DIR = "/run/secure-redis";
/** The backend's view of its secrets volume (mounted read-only). */
export const BACKEND_SECRETS_DIR = "/run/secrets/secure-redis";
/** The symlink naming the live generation in every volume. */
export const CURRENT = "current";

/** Files on the Redis configuration volume. */
export const REDIS_FILES = {
  acl: "users.acl",
  serverCert: "server.crt",
  serverKey: "server.key",
  ca: "ca.crt",
  /** The healthcheck user's password, read by the container healthcheck (never on a command line). */
  healthcheckPassword: "healthcheck.password",
  /** Mutual TLS: the certificate the healthcheck presents. */
  healthcheckCert: "healthcheck.crt",
  healthcheckKey: "healthcheck.key",
} as const;

/** Files on the backend's secrets volume; the backend reads them through `*_FILE` variables. */
export const BACKEND_FILES = {
  password: "redis-password",
  encryptionKeys: "encryption-keys",
  keyHashingSecret: "key-hashing-secret",
  ca: "ca.crt",
  clientCert: "client.crt",
  clientKey: "client.key",
} as const;

/** Inputs of the configuration container (its `uploads`), removed when it finishes. */
export const CONFIGURATOR_INBOX = "/run/secure-redis-inbox";
/** Where the configuration container mounts the volumes it writes: `<root>/<target name>`. */
export const CONFIGURATOR_VOLUMES = "/volumes";

/** Files the operator part of the inbox holds: admin passwords (current first) and the mTLS client pair. */
export const OPERATOR_FILES = {
  adminPassword: (index: number): string => `admin-password-${index + 1}`,
  clientCert: "client.crt",
  clientKey: "client.key",
} as const;

/** A file of the live generation as the container that mounts `dir` sees it. */
export function livePath(dir: string, file: string): string {
  return `${dir}/${CURRENT}/${file}`;
}
