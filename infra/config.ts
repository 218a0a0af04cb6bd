/**
 * Stack config → one resolved, validated deployment description, against the
 * tier table. Pure: it takes the raw config map Pulumi hands the program and
 * either returns everything the components need or throws a
 * `ConfigurationError` that names the config key and the fix. Nothing here
 * creates a resource, so an insecure or inconsistent stack fails before
 * anything is deployed.
 */
import { isIP } from "node:net";
import { ConfigurationError } from "../lib/errors.js";
import {
  ENVIRONMENTS,
  isEnvironment,
  TIERS,
  type RedisPersistence,
  type TierPolicy,
} from "../lib/config/tiers.js";
import { CONFIG_KEYS, PROJECT, configKeySpec, fullKey, type ConfigKey } from "./config-schema.js";
import {
  MINIMUM_REDIS_VERSION,
  compareVersions,
  formatVersion,
  parseRedisVersion,
  versionFromImageTag,
  type RedisVersion,
} from "./redis-version.js";
import { Secret } from "../lib/config/secret.js";
import {
  checkSuppliedEncryptionKeys,
  checkSuppliedKeyHashingSecret,
  checkSuppliedPasswords,
} from "./supplied-secrets.js";
import { checkSuppliedTls, type SuppliedTls } from "./supplied-tls.js";

/** The name Redis has on the internal network; the server certificate is issued for it. */
export const REDIS_ALIAS = "redis";
/** The name the backend has on the edge network. */
export const BACKEND_ALIAS = "backend";

/**
 * Share of the container's memory limit given to Redis's `maxmemory`; the
 * rest is headroom for allocator fragmentation, client buffers, TLS and the
 * copy-on-write pages of a background save, so the kernel never OOM-kills
 * Redis before it gets to evict.
 */
export const MAXMEMORY_SHARE = 0.75;
/** Below this a Redis with TLS, ACL and eviction has no room to cache anything useful. */
export const MINIMUM_MEMORY_LIMIT_MB = 64;

export const EVICTION_POLICIES = [
  "allkeys-lru",
  "allkeys-lfu",
  "allkeys-random",
  "volatile-lru",
  "volatile-lfu",
  "volatile-random",
  "volatile-ttl",
  "noeviction",
] as const;
export type EvictionPolicy = (typeof EVICTION_POLICIES)[number];

const PERSISTENCE_MODES: readonly RedisPersistence[] = ["none", "rdb", "aof"];

/** A namespace becomes the ACL key pattern `~<namespace>:*`: no glob characters, no colon, no space. */
const KEY_NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface UserAndGroup {
  readonly uid: number;
  readonly gid: number;
}

export type AclUser = "app" | "admin" | "healthcheck";
export const ACL_USERS: readonly AclUser[] = ["app", "admin", "healthcheck"];

/** Where the backend's port is published on the host, if anywhere. */
export interface BackendPublish {
  readonly address: string;
  readonly hostPort: number;
}

export interface ResolvedConfig {
  readonly stack: string;
  readonly tier: TierPolicy;
  readonly redis: {
    readonly image: string;
    readonly serverVersion: RedisVersion;
    readonly user: UserAndGroup;
    readonly port: number;
    readonly memoryLimitMb: number;
    readonly maxmemoryMb: number;
    readonly evictionPolicy: EvictionPolicy;
    readonly persistence: RedisPersistence;
    readonly keyNamespace: string;
  };
  readonly network: { readonly isolatedGateway: boolean };
  readonly tls: {
    readonly enabled: boolean;
    readonly mutual: boolean;
    readonly supplied: SuppliedTls | undefined;
  };
  readonly rotation: {
    readonly passwordGeneration: number;
    readonly keyGeneration: number;
    readonly certificateGeneration: number;
  };
  /** Secrets the user brought; each one replaces the generated one. */
  readonly supplied: {
    readonly passwords: Partial<Record<AclUser, Secret[]>>;
    readonly encryptionKeys: Secret[] | undefined;
    readonly keyHashingSecret: Secret | undefined;
  };
  readonly backend: {
    /** Deploy the reference backend container (its secrets volume is written either way). */
    readonly enabled: boolean;
    readonly image: string;
    readonly user: UserAndGroup;
    readonly port: number;
    readonly publish: BackendPublish | undefined;
    readonly memoryLimitMb: number;
  };
}

/** The raw config the program receives: full keys (`secure-redis:tier`) to string values. */
export interface RawConfig {
  readonly values: Readonly<Record<string, string>>;
  /**
   * Whether a key was set as a secret, when the runtime can tell (undefined
   * otherwise). Used to refuse secrets stored in plaintext in a stack file.
   */
  readonly isSecret?: (fullKey: string) => boolean | undefined;
}

class Reader {
  constructor(private readonly raw: RawConfig) {}

  private text(key: ConfigKey): string | undefined {
    return this.raw.values[fullKey(key)];
  }

  string(key: ConfigKey): string {
    const value = this.text(key);
    if (value !== undefined) return value;
    const spec = configKeySpec(key);
    return typeof spec?.default === "string" ? spec.default : "";
  }

  integer(key: ConfigKey): number {
    const value = this.text(key);
    if (value === undefined) {
      const spec = configKeySpec(key);
      return typeof spec?.default === "number" ? spec.default : 0;
    }
    if (!/^-?\d{1,9}$/.test(value.trim())) {
      throw new ConfigurationError(fullKey(key), `must be a whole number, got "${value}"`);
    }
    return Number(value.trim());
  }

  boolean(key: ConfigKey): boolean {
    const value = this.text(key);
    if (value === undefined) return configKeySpec(key)?.default === true;
    if (value === "true") return true;
    if (value === "false") return false;
    throw new ConfigurationError(fullKey(key), `must be true or false, got "${value}"`);
  }

  /** A secret key's value, or undefined when unset/empty; refuses one stored in plaintext. */
  secret(key: ConfigKey): string | undefined {
    const value = this.text(key);
    if (value === undefined || value === "") return undefined;
    if (this.raw.isSecret?.(fullKey(key)) === false) {
      throw new ConfigurationError(
        fullKey(key),
        `is stored in plaintext in the stack file; store it encrypted: pulumi config set --secret ${key} <value>` +
          ` (then check that Pulumi.<stack>.yaml shows "secure:" for it)`,
      );
    }
    return value;
  }
}

function checkKnownKeys(raw: RawConfig): void {
  const prefix = `${PROJECT}:`;
  const known = new Set(CONFIG_KEYS.map((spec) => spec.key as string));
  for (const full of Object.keys(raw.values)) {
    if (!full.startsWith(prefix)) continue;
    const key = full.slice(prefix.length);
    if (known.has(key)) continue;
    const related = [...known].filter(
      (k) => k.startsWith(`${key}.`) || k.split(".")[0] === key.split(".")[0],
    );
    if (related.some((k) => k.startsWith(`${key}.`))) {
      throw new ConfigurationError(
        full,
        `is a structured value (set with --path?); keys here are flat. Fix: pulumi config rm --path ${key} and ` +
          `set each key without --path, e.g. pulumi config set ${related[0]} <value>`,
      );
    }
    throw new ConfigurationError(
      full,
      `is not a setting of this program (a typo?). ${related.length > 0 ? `Known keys nearby: ${related.join(", ")}. ` : ""}` +
        `Fix: pulumi config rm ${key}; every key is listed in Pulumi.yaml and docs/deploy.md`,
    );
  }
}

export function parseUserAndGroup(key: ConfigKey, value: string): UserAndGroup {
  const match = /^(\d{1,10}):(\d{1,10})$/.exec(value.trim());
  if (match === null) {
    throw new ConfigurationError(
      fullKey(key),
      `must be numeric "<uid>:<gid>" (the image's non-root user), got "${value}"`,
    );
  }
  const uid = Number(match[1]);
  const gid = Number(match[2]);
  if (uid === 0 || gid === 0) {
    throw new ConfigurationError(
      fullKey(key),
      "must not be root (uid or gid 0): the container runs as a non-root user. " +
        `Fix: pulumi config set ${key} <uid>:<gid> of the image's service user`,
    );
  }
  return { uid, gid };
}

function checkPort(key: ConfigKey, port: number): number {
  if (port < 1 || port > 65535)
    throw new ConfigurationError(fullKey(key), `must be a TCP port (1-65535), got ${port}`);
  return port;
}

function checkGeneration(key: ConfigKey, value: number): number {
  if (value < 1) {
    throw new ConfigurationError(
      fullKey(key),
      `must be 1 or more, got ${value}; raise it by one to rotate: pulumi config set ${key} <current + 1>`,
    );
  }
  return value;
}

function resolveTier(read: Reader): TierPolicy {
  const name = read.string("tier");
  if (!isEnvironment(name)) {
    throw new ConfigurationError(
      fullKey("tier"),
      `"${name}" is not a tier; use one of ${ENVIRONMENTS.join(", ")}: pulumi config set tier <tier>`,
    );
  }
  return TIERS[name];
}

function resolveServerVersion(read: Reader, image: string): RedisVersion {
  const configured = read.string("redis.serverVersion");
  const fromTag = versionFromImageTag(image);
  let version: RedisVersion;
  if (configured === "") {
    if (fromTag === undefined) {
      throw new ConfigurationError(
        fullKey("redis.serverVersion"),
        `is required: the tag of redis.image "${image}" names no version, and the ACL may only list commands ` +
          "the server knows. Fix: pulumi config set redis.serverVersion <major.minor>, e.g. 7.2",
      );
    }
    version = fromTag;
  } else {
    const parsed = parseRedisVersion(configured);
    if (parsed === undefined) {
      throw new ConfigurationError(fullKey("redis.serverVersion"), `must look like 7.2, got "${configured}"`);
    }
    if (fromTag !== undefined && compareVersions(parsed, fromTag) !== 0) {
      throw new ConfigurationError(
        fullKey("redis.serverVersion"),
        `says ${formatVersion(parsed)} but redis.image "${image}" is ${formatVersion(fromTag)}. ` +
          "Fix: pulumi config rm redis.serverVersion (the tag is used)",
      );
    }
    version = parsed;
  }
  if (compareVersions(version, MINIMUM_REDIS_VERSION) < 0) {
    throw new ConfigurationError(
      fullKey("redis.image"),
      `runs Redis ${formatVersion(version)}; at least ${formatVersion(MINIMUM_REDIS_VERSION)} is required ` +
        "(enable-debug-command, enable-module-command and enable-protected-configs). Fix: pulumi config set redis.image redis:7.2.11",
    );
  }
  return version;
}

function resolveRedis(read: Reader, tier: TierPolicy): ResolvedConfig["redis"] {
  const image = read.string("redis.image").trim();
  if (image === "")
    throw new ConfigurationError(fullKey("redis.image"), "must name an image, e.g. redis:7.2.11");

  const publishedPort = read.integer("redis.publishedPort");
  if (publishedPort !== 0) {
    throw new ConfigurationError(
      fullKey("redis.publishedPort"),
      `is ${publishedPort}, but Redis is never published on the host: a published port is reachable from ` +
        "outside its internal network. Fix: pulumi config rm redis.publishedPort; reach Redis from a container " +
        "on the internal network, or with docker exec (see docs/deploy.md)",
    );
  }

  const configuredMemory = read.integer("redis.memoryLimitMb");
  const memoryLimitMb = configuredMemory === 0 ? tier.redis.memoryLimitMb : configuredMemory;
  if (memoryLimitMb < MINIMUM_MEMORY_LIMIT_MB) {
    throw new ConfigurationError(
      fullKey("redis.memoryLimitMb"),
      `is ${memoryLimitMb} MiB; at least ${MINIMUM_MEMORY_LIMIT_MB} is required (0 means the tier's default)`,
    );
  }

  const evictionPolicy = read.string("redis.evictionPolicy");
  if (!(EVICTION_POLICIES as readonly string[]).includes(evictionPolicy)) {
    throw new ConfigurationError(
      fullKey("redis.evictionPolicy"),
      `"${evictionPolicy}" is not a Redis eviction policy; use one of ${EVICTION_POLICIES.join(", ")}`,
    );
  }

  const configuredPersistence = read.string("redis.persistence");
  const persistence = configuredPersistence === "" ? tier.redis.persistence : configuredPersistence;
  if (!(PERSISTENCE_MODES as readonly string[]).includes(persistence)) {
    throw new ConfigurationError(
      fullKey("redis.persistence"),
      `"${persistence}" is not a persistence mode; use none, rdb or aof (empty means the tier's default)`,
    );
  }

  const keyNamespace = read.string("redis.keyNamespace");
  if (!KEY_NAMESPACE.test(keyNamespace)) {
    throw new ConfigurationError(
      fullKey("redis.keyNamespace"),
      `"${keyNamespace}" cannot be an ACL key namespace: use letters, digits, _ . - (no *, ?, [, :, spaces), at most 64`,
    );
  }

  return {
    image,
    serverVersion: resolveServerVersion(read, image),
    user: parseUserAndGroup("redis.user", read.string("redis.user")),
    port: checkPort("redis.port", read.integer("redis.port")),
    memoryLimitMb,
    maxmemoryMb: Math.floor(memoryLimitMb * MAXMEMORY_SHARE),
    evictionPolicy: evictionPolicy as EvictionPolicy,
    persistence: persistence as RedisPersistence,
    keyNamespace,
  };
}

function resolveTls(read: Reader, tier: TierPolicy): ResolvedConfig["tls"] {
  const enabled = read.boolean("tls.enabled");
  const mutualRequested = read.boolean("tls.mutual");
  if (!enabled && tier.requireTls) {
    throw new ConfigurationError(
      fullKey("tls.enabled"),
      `is false, but the ${tier.environment} tier requires TLS (Redis speaks TLS only). ` +
        "Fix: pulumi config rm tls.enabled (it defaults to true)",
    );
  }
  if (!enabled && mutualRequested) {
    throw new ConfigurationError(
      fullKey("tls.mutual"),
      "is true while tls.enabled is false; mutual TLS needs TLS. Fix: pulumi config rm tls.mutual, or enable TLS",
    );
  }
  const mutual = enabled && (tier.requireMutualTls || mutualRequested);
  const caKey = read.secret("tls.caKeyPem");
  const serverKey = read.secret("tls.serverKeyPem");
  const input = {
    caCertPem: read.string("tls.caCertPem"),
    caKeyPem: caKey === undefined ? undefined : new Secret(caKey),
    serverCertPem: read.string("tls.serverCertPem"),
    serverKeyPem: serverKey === undefined ? undefined : new Secret(serverKey),
  };
  const suppliedAny =
    input.caCertPem !== "" ||
    input.caKeyPem !== undefined ||
    input.serverCertPem !== "" ||
    input.serverKeyPem !== undefined;
  if (!enabled && suppliedAny) {
    throw new ConfigurationError(
      fullKey("tls.enabled"),
      "is false but certificates are supplied (tls.*Pem); enable TLS or remove them",
    );
  }
  const supplied = enabled
    ? checkSuppliedTls(input, { mutualTls: mutual, serverName: REDIS_ALIAS })
    : undefined;
  return { enabled, mutual, supplied };
}

function resolveBackend(read: Reader, tier: TierPolicy): ResolvedConfig["backend"] {
  const image = read.string("backend.image").trim();
  if (image === "") throw new ConfigurationError(fullKey("backend.image"), "must name an image");
  const port = checkPort("backend.port", read.integer("backend.port"));
  const configuredAddress = read.string("backend.publishAddress").trim();
  // Development publishes on loopback by default so the developer can reach it; elsewhere a
  // reverse proxy joins the edge network instead.
  const address =
    configuredAddress === ""
      ? tier.environment === "development"
        ? "127.0.0.1"
        : "none"
      : configuredAddress;
  let publish: BackendPublish | undefined;
  if (address !== "none") {
    if (isIP(address) === 0) {
      throw new ConfigurationError(
        fullKey("backend.publishAddress"),
        `must be an IP address, "none" or empty (the tier's default), got "${address}"`,
      );
    }
    const loopback = address === "127.0.0.1" || address === "::1";
    if (!loopback && (tier.environment === "staging" || tier.environment === "production")) {
      throw new ConfigurationError(
        fullKey("backend.publishAddress"),
        `is ${address}, but the ${tier.environment} tier publishes the backend (health, metrics, security status) ` +
          "on loopback at most. Fix: pulumi config set backend.publishAddress 127.0.0.1 (or none) and put a " +
          "reverse proxy on the edge network",
      );
    }
    const hostPort = read.integer("backend.hostPort");
    publish = { address, hostPort: checkPort("backend.hostPort", hostPort === 0 ? port : hostPort) };
  }
  const memoryLimitMb = read.integer("backend.memoryLimitMb");
  if (memoryLimitMb < MINIMUM_MEMORY_LIMIT_MB) {
    throw new ConfigurationError(
      fullKey("backend.memoryLimitMb"),
      `is ${memoryLimitMb} MiB; at least ${MINIMUM_MEMORY_LIMIT_MB} is required`,
    );
  }
  return {
    enabled: read.boolean("backend.enabled"),
    image,
    user: parseUserAndGroup("backend.user", read.string("backend.user")),
    port,
    publish,
    memoryLimitMb,
  };
}

function resolveSupplied(read: Reader, tier: TierPolicy): ResolvedConfig["supplied"] {
  const passwords: Partial<Record<AclUser, Secret[]>> = {};
  for (const user of ACL_USERS) {
    const key = `passwords.${user}` as const;
    const value = read.secret(key);
    if (value !== undefined) passwords[user] = checkSuppliedPasswords(key, value, tier);
  }
  const keys = read.secret("encryptionKeys");
  const hashing = read.secret("keyHashingSecret");
  return {
    passwords,
    encryptionKeys:
      keys === undefined ? undefined : checkSuppliedEncryptionKeys("encryptionKeys", keys, tier),
    keyHashingSecret:
      hashing === undefined ? undefined : checkSuppliedKeyHashingSecret("keyHashingSecret", hashing),
  };
}

/** Validates the stack's config against the tier table and resolves every default. */
export function resolveConfig(raw: RawConfig, stack: string): ResolvedConfig {
  checkKnownKeys(raw);
  const read = new Reader(raw);
  const tier = resolveTier(read);
  return {
    stack,
    tier,
    redis: resolveRedis(read, tier),
    network: { isolatedGateway: read.boolean("network.isolatedGateway") },
    tls: resolveTls(read, tier),
    rotation: {
      passwordGeneration: checkGeneration(
        "rotation.passwordGeneration",
        read.integer("rotation.passwordGeneration"),
      ),
      keyGeneration: checkGeneration("rotation.keyGeneration", read.integer("rotation.keyGeneration")),
      certificateGeneration: checkGeneration(
        "rotation.certificateGeneration",
        read.integer("rotation.certificateGeneration"),
      ),
    },
    supplied: resolveSupplied(read, tier),
    backend: resolveBackend(read, tier),
  };
}
