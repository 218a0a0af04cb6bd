/**
 * secure-redis: the public API. Everything an app imports comes from here.
 */
export { Fernet, MAX_CLOCK_SKEW_SECONDS } from "./crypto/fernet.js";
export type { DecryptOptions, EncryptOptions, OpenedToken } from "./crypto/fernet.js";
export { KeyRing } from "./crypto/keyring.js";
export { InvalidToken, InvalidKeyError } from "./crypto/errors.js";
export type { InvalidTokenReason } from "./crypto/errors.js";
export { SecureRedisError, ConfigurationError } from "./errors.js";
export {
  ENVIRONMENTS,
  TIERS,
  MIN_DETECTION_CONFIDENCE,
  PASSWORD_ALPHABET,
  isEnvironment,
  passwordLength,
  tierFor,
} from "./config/tiers.js";
export type {
  Environment,
  TierPolicy,
  PasswordPolicy,
  CertificatePolicy,
  CharacterClass,
} from "./config/tiers.js";
export { SecurityEvents } from "./events.js";
export type {
  SecurityEvent,
  SecurityEventMap,
  SecurityEventType,
  SecurityEventsOptions,
  Listener,
} from "./events.js";

// Tier fields added for infra/ (issue 5): what the deployed Redis gets per tier.
export type { RedisPersistence, RedisServerPolicy } from "./config/tiers.js";
