/**
 * The tier table: the one place where the security policy of each
 * environment is written down. infra/, the config generator, the validator
 * and the client all read it; no number in here is repeated elsewhere.
 *
 * Every number carries a one-line reason.
 */

export const ENVIRONMENTS = ["development", "testing", "staging", "production"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export function isEnvironment(value: unknown): value is Environment {
  return typeof value === "string" && (ENVIRONMENTS as readonly string[]).includes(value);
}

/** Character classes a generated password must contain at least once. */
export type CharacterClass = "lower" | "upper" | "digit" | "special";

/**
 * The password alphabet: RFC 3986 unreserved characters only, so a password
 * can stand in a `rediss://user:password@host` URL, an ACL file (`>password`),
 * a dotenv file and a shell without escaping.
 */
export const PASSWORD_ALPHABET = {
  lower: "abcdefghijklmnopqrstuvwxyz",
  upper: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
  digit: "0123456789",
  special: "-_.~",
} as const satisfies Record<CharacterClass, string>;

export interface PasswordPolicy {
  /** Random characters per password (a prefix, if any, comes on top). */
  randomLength: number;
  /** Classes every generated password contains; supplied passwords are held to them too. */
  requiredClasses: readonly CharacterClass[];
  /** A fixed prefix that makes the password recognisable (development only), or "". */
  prefix: string;
  /**
   * Lowest zxcvbn-ts estimate of guesses (log10) a password may have. Catches
   * long but patterned passwords that the length check lets through.
   */
  minGuessesLog10: number;
}

export interface CertificatePolicy {
  /** Lifetime of issued server and client certificates, in days. */
  validityDays: number;
  /** Renew (and warn) when a certificate expires within this many days. */
  renewBeforeDays: number;
  /**
   * Lifetime of the certificate authority that infra/ creates, in days. It
   * outlives many leaf certificates so that renewing a leaf never asks a
   * client to trust a new CA.
   */
  caValidityDays: number;
}

/** How Redis keeps its data across a restart. */
export type RedisPersistence = "none" | "rdb" | "aof";

/** Resources and durability of the Redis that infra/ deploys for a tier. */
export interface RedisServerPolicy {
  /** Hard memory limit of the Redis container in MiB (Redis's `maxmemory` is derived from it). */
  memoryLimitMb: number;
  /** `none`: nothing written to disk (tmpfs); `rdb`: snapshots on a volume; `aof`: append-only file on a volume. */
  persistence: RedisPersistence;
}

export interface TierPolicy {
  environment: Environment;
  password: PasswordPolicy;
  /** Redis speaks TLS only (`port 0`); plaintext `redis://` URLs are refused. */
  requireTls: boolean;
  /** Cached values must be encrypted; the cache refuses to start without keys. */
  requireEncryption: boolean;
  /** Clients must present a certificate (`tls-auth-clients yes`). */
  requireMutualTls: boolean;
  /** Lowest validator score (0-100) a configuration may have to pass. */
  minValidationScore: number;
  /** Previous encryption keys kept readable after a rotation (the primary comes on top). */
  retainedEncryptionKeys: number;
  certificate: CertificatePolicy;
  redis: RedisServerPolicy;
  /** Clients must authenticate as a named ACL user with a password (not the `default` user). */
  requireAuthentication: boolean;
  /** Secret files (`*_FILE`) readable by group or others are refused. */
  secretFilesOwnerOnly: boolean;
}

export const TIERS: Readonly<Record<Environment, TierPolicy>> = {
  development: {
    environment: "development",
    password: {
      // 16 random characters from 66 is ~96 bits: no weaker than testing, as required.
      randomLength: 16,
      // Lower case and digits are enough at this length; specials add nothing for a laptop.
      requiredClasses: ["lower", "digit"],
      // A development password must never be mistaken for (or pasted as) a real one.
      prefix: "dev-",
      // zxcvbn's own top score ("very unguessable"); generated ones measure >= 17.
      minGuessesLog10: 10,
    },
    // Local tooling (redis-cli, GUI clients) often cannot do TLS; the host only.
    requireTls: false,
    // Developers need to read the cache while debugging; encryption stays available.
    requireEncryption: false,
    requireMutualTls: false,
    // Reported, not enforced hard: development exists to be convenient.
    minValidationScore: 40,
    // One previous key keeps a local rotation drill readable.
    retainedEncryptionKeys: 1,
    // A year: nobody wants to renew a laptop certificate every month.
    // CA: five years, so a laptop stack never needs a CA rotation in practice.
    certificate: { validityDays: 365, renewBeforeDays: 30, caValidityDays: 1825 },
    redis: {
      // A laptop cache: small, and never more than a developer's machine can spare.
      memoryLimitMb: 256,
      // Nothing of a developer's (possibly unencrypted) cache is written to disk.
      persistence: "none",
    },
    // A laptop Redis may run without auth for local tools; the validator still reports it.
    requireAuthentication: false,
    // Files on a laptop are often created 0644 by editors; reported, not refused.
    secretFilesOwnerOnly: false,
  },
  testing: {
    environment: "testing",
    password: {
      // The plan this project grew from: testing passwords of 16 characters (~96 bits).
      randomLength: 16,
      requiredClasses: ["lower", "upper", "digit"],
      prefix: "",
      // zxcvbn's top score; generated 16-character ones measure >= 14 (20 000 draws).
      minGuessesLog10: 10,
    },
    // CI should exercise the same TLS path that production runs.
    requireTls: true,
    // Tests run both modes on purpose; the tier does not force one.
    requireEncryption: false,
    requireMutualTls: false,
    minValidationScore: 60,
    retainedEncryptionKeys: 1,
    // Short-lived CI environments: a month is plenty, and expiry paths get exercised.
    // CA: a year outlives any CI environment.
    certificate: { validityDays: 30, renewBeforeDays: 7, caValidityDays: 365 },
    redis: {
      // CI runners are shared; a test cache stays small.
      memoryLimitMb: 256,
      // CI starts from an empty cache on purpose.
      persistence: "none",
    },
    // CI exercises the same ACL login path production runs.
    requireAuthentication: true,
    // CI runners mount secrets with their own modes; reported, not refused.
    secretFilesOwnerOnly: false,
  },
  staging: {
    environment: "staging",
    password: {
      // The plan this project grew from: 24 characters (~145 bits).
      randomLength: 24,
      requiredClasses: ["lower", "upper", "digit", "special"],
      prefix: "",
      // Headroom over the testing tier; generated 24-character ones measure >= 21.
      minGuessesLog10: 14,
    },
    // Staging holds copies of real prompts; it is protected like production.
    requireTls: true,
    requireEncryption: true,
    // Staging rehearses production's network shape but not client certificates,
    // so that debugging tools can still connect with a password.
    requireMutualTls: false,
    minValidationScore: 80,
    // Two previous keys: a rotation can be rolled back once without losing entries.
    retainedEncryptionKeys: 2,
    // 90 days, renewed 30 days early: the Let's Encrypt rhythm operators know.
    // CA: three years, many leaf renewals per CA, one planned CA rotation per cycle.
    certificate: { validityDays: 90, renewBeforeDays: 30, caValidityDays: 1095 },
    redis: {
      // Enough to rehearse production's eviction behaviour with realistic entries.
      memoryLimitMb: 512,
      // Rehearses production's restart path (a warm cache after a restart).
      persistence: "rdb",
    },
    // Staging holds copies of real prompts: no anonymous access.
    requireAuthentication: true,
    // Staging is protected like production.
    secretFilesOwnerOnly: true,
  },
  production: {
    environment: "production",
    password: {
      // The plan this project grew from: production passwords of at least 32 characters (~193 bits).
      randomLength: 32,
      requiredClasses: ["lower", "upper", "digit", "special"],
      prefix: "",
      // Headroom over staging; generated 32-character ones measure >= 29.
      minGuessesLog10: 18,
    },
    requireTls: true,
    requireEncryption: true,
    // Production: a stolen password alone must not be enough to connect.
    requireMutualTls: true,
    // Anything below 90 means at least one high-severity finding.
    minValidationScore: 90,
    // Two previous keys: entries written before the last two rotations stay readable
    // while the re-encryption job moves them.
    retainedEncryptionKeys: 2,
    certificate: { validityDays: 90, renewBeforeDays: 30, caValidityDays: 1095 },
    redis: {
      // A starting size for an AI-response cache; raise redis.memoryLimitMb per stack.
      memoryLimitMb: 1024,
      // Snapshots keep the cache warm across restarts (each miss costs a model call);
      // an append-only log buys nothing for data that can be recomputed.
      persistence: "rdb",
    },
    // No anonymous or shared-default-user access to real data.
    requireAuthentication: true,
    // A secret file other users can read is a leaked secret (the point of *_FILE).
    secretFilesOwnerOnly: true,
  },
};

/**
 * Confidence (0-1) below which a detected environment is not trusted and the
 * production policy applies: guessing "development" wrongly turns security
 * off, guessing "production" wrongly only asks for more configuration.
 */
export const MIN_DETECTION_CONFIDENCE = 0.7;

/** Total length of a generated password for a tier (prefix included). */
export function passwordLength(policy: PasswordPolicy): number {
  return policy.prefix.length + policy.randomLength;
}

/** The policy of an environment; an unknown name gets production's. */
export function tierFor(environment: string | undefined): TierPolicy {
  return isEnvironment(environment) ? TIERS[environment] : TIERS.production;
}
