/**
 * Every stack config key the program reads: its type, its default and
 * whether it holds a secret. Pulumi.yaml declares the same keys (with their
 * descriptions) and a test keeps the two identical, so a key cannot be read
 * here without being documented there, or the other way round.
 *
 * Keys are flat and dotted (`rotation.passwordGeneration`), set with
 * `pulumi config set <key> <value>` (no `--path`): Pulumi's project config
 * schema declares scalar keys only, and a flat key gets a typed default.
 *
 * Tier-dependent settings default to an empty value (`""` or `0`) meaning
 * "the tier table's value", so that no number from lib/config/tiers.ts is
 * repeated here.
 */

export type ConfigValueType = "string" | "integer" | "boolean";

export interface ConfigKeySpec {
  /** The key without the project namespace, e.g. `rotation.passwordGeneration`. */
  readonly key: string;
  readonly type: ConfigValueType;
  readonly default: string | number | boolean;
  /**
   * Holds a secret: must be set with `pulumi config set --secret`. (Pulumi.yaml
   * cannot mark it `secret: true`: the CLI would then refuse every stack that
   * keeps the plaintext default, so the program enforces it instead.)
   */
  readonly secret?: boolean;
}

/** The project name, which is also the config namespace. */
export const PROJECT = "secure-redis";

export const CONFIG_KEYS = [
  { key: "tier", type: "string", default: "production" },

  { key: "redis.image", type: "string", default: "redis:7.2.11" },
  { key: "redis.serverVersion", type: "string", default: "" },
  { key: "redis.user", type: "string", default: "999:999" },
  { key: "redis.port", type: "integer", default: 6379 },
  { key: "redis.publishedPort", type: "integer", default: 0 },
  { key: "redis.memoryLimitMb", type: "integer", default: 0 },
  { key: "redis.evictionPolicy", type: "string", default: "allkeys-lru" },
  { key: "redis.persistence", type: "string", default: "" },
  { key: "redis.keyNamespace", type: "string", default: "cache" },

  { key: "network.isolatedGateway", type: "boolean", default: false },

  { key: "tls.enabled", type: "boolean", default: true },
  { key: "tls.mutual", type: "boolean", default: false },
  { key: "tls.caCertPem", type: "string", default: "" },
  { key: "tls.caKeyPem", type: "string", default: "", secret: true },
  { key: "tls.serverCertPem", type: "string", default: "" },
  { key: "tls.serverKeyPem", type: "string", default: "", secret: true },

  { key: "rotation.passwordGeneration", type: "integer", default: 1 },
  { key: "rotation.keyGeneration", type: "integer", default: 1 },
  { key: "rotation.certificateGeneration", type: "integer", default: 1 },

  { key: "passwords.app", type: "string", default: "", secret: true },
  { key: "passwords.admin", type: "string", default: "", secret: true },
  { key: "passwords.healthcheck", type: "string", default: "", secret: true },
  { key: "encryptionKeys", type: "string", default: "", secret: true },
  { key: "keyHashingSecret", type: "string", default: "", secret: true },

  { key: "backend.enabled", type: "boolean", default: true },
  { key: "backend.image", type: "string", default: "secure-redis/backend:local" },
  { key: "backend.user", type: "string", default: "1000:1000" },
  { key: "backend.port", type: "integer", default: 8080 },
  { key: "backend.publishAddress", type: "string", default: "" },
  { key: "backend.hostPort", type: "integer", default: 0 },
  { key: "backend.memoryLimitMb", type: "integer", default: 256 },
] as const satisfies readonly ConfigKeySpec[];

export type ConfigKey = (typeof CONFIG_KEYS)[number]["key"];

/** `secure-redis:<key>`, the form Pulumi uses in stack files and error messages. */
export function fullKey(key: string): string {
  return `${PROJECT}:${key}`;
}

const SPECS: ReadonlyMap<string, ConfigKeySpec> = new Map(CONFIG_KEYS.map((spec) => [spec.key, spec]));

export function configKeySpec(key: string): ConfigKeySpec | undefined {
  return SPECS.get(key);
}
