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
}

export interface CertificatePolicy {
  /** Lifetime of issued server and client certificates, in days. */
  validityDays: number;
  /** Renew (and warn) when a certificate expires within this many days. */
  renewBeforeDays: number;
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
    certificate: { validityDays: 365, renewBeforeDays: 30 },
  },
  testing: {
    environment: "testing",
    password: {
      // The plan this project grew from: testing passwords of 16 characters (~96 bits).
      randomLength: 16,
      requiredClasses: ["lower", "upper", "digit"],
      prefix: "",
    },
    // CI should exercise the same TLS path that production runs.
    requireTls: true,
    // Tests run both modes on purpose; the tier does not force one.
    requireEncryption: false,
    requireMutualTls: false,
    minValidationScore: 60,
    retainedEncryptionKeys: 1,
    // Short-lived CI environments: a month is plenty, and expiry paths get exercised.
    certificate: { validityDays: 30, renewBeforeDays: 7 },
  },
  staging: {
    environment: "staging",
    password: {
      // The plan this project grew from: 24 characters (~145 bits).
      randomLength: 24,
      requiredClasses: ["lower", "upper", "digit", "special"],
      prefix: "",
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
    certificate: { validityDays: 90, renewBeforeDays: 30 },
  },
  production: {
    environment: "production",
    password: {
      // The plan this project grew from: production passwords of at least 32 characters (~193 bits).
      randomLength: 32,
      requiredClasses: ["lower", "upper", "digit", "special"],
      prefix: "",
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
    certificate: { validityDays: 90, renewBeforeDays: 30 },
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
