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
export { EncryptedCache, CacheUnavailableError } from "./cache/encrypted-cache.js";
export type {
  CacheMode,
  EncryptedCacheOptions,
  SetOptions,
  ReadResult,
  ValueSource,
} from "./cache/encrypted-cache.js";
export { CacheValueError, DEFAULT_COMPRESSION } from "./cache/value-codec.js";
export type { CompressionPolicy } from "./cache/value-codec.js";
export { AIResponseCache, DEFAULT_OPERATION_TTLS } from "./cache/ai-response-cache.js";
export type { AIResponseCacheOptions } from "./cache/ai-response-cache.js";
export { MIN_KEY_HASH_SECRET_BYTES } from "./cache/request-key.js";
export type { AIRequest } from "./cache/request-key.js";
export { reencryptNamespace } from "./cache/reencrypt.js";
export type { ReencryptOptions, ReencryptReport } from "./cache/reencrypt.js";
export type {
  SecurityEvent,
  SecurityEventMap,
  SecurityEventType,
  SecurityEventsOptions,
  Listener,
} from "./events.js";

// Tier fields added for infra/ (issue 5): what the deployed Redis gets per tier.
export type { RedisPersistence, RedisServerPolicy } from "./config/tiers.js";
