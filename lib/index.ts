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

// --- Configuration, secure client, audit (issue 4) ---
export { detectEnvironment, parseEnvironmentName, ENVIRONMENT_SIGNALS } from "./config/environment.js";
export type { EnvironmentDetection, EnvironmentSignal } from "./config/environment.js";
export { loadSettings, DEVELOPMENT_DEFAULT_URL } from "./config/settings.js";
export type { Settings, TlsSettings } from "./config/settings.js";
export { Secret, secretsEqual } from "./config/secret.js";
export { parseRedisUrl } from "./config/redis-url.js";
export type { RedisUrl } from "./config/redis-url.js";
export { generatePassword, missingClasses, passwordStrength } from "./config/password.js";
export { parseDotenv, renderDotenv } from "./config/dotenv.js";
export {
  SecureConfigGenerator,
  SecureConfig,
  ConfigFileExistsError,
  compareConfigs,
  readEnvFile,
} from "./config/generator.js";
export type {
  GenerateOptions,
  SaveOptions,
  SaveResult,
  DriftReport,
  SettingDifference,
  ConfigLike,
} from "./config/generator.js";
export { validateSecurityConfig } from "./config/validator.js";
export type { ValidateOptions, ValidationResult } from "./config/validator.js";
export { SEVERITIES, SEVERITY_PENALTY, scoreFindings, sortFindings } from "./config/findings.js";
export type { Finding, Severity } from "./config/findings.js";
export { ACL_USERS, USER_VARIABLES, SECRET_VARIABLES } from "./config/variables.js";
export type { AclUser } from "./config/variables.js";
export { createSecureRedisClient, SecureRedisClient } from "./redis/client.js";
export type { SecureClientOptions, HealthCheckResult } from "./redis/client.js";
export { RedisAuthError, RedisTlsError, RedisConnectionError } from "./redis/errors.js";
export { backoffDelay } from "./redis/backoff.js";
export type { BackoffOptions } from "./redis/backoff.js";
export { auditRedis, evaluateAudit, DEFAULT_AUDIT_URL } from "./redis/audit.js";
export type { AuditOptions, AuditReport, AuditFacts, AuditTlsOptions } from "./redis/audit.js";
export { APP_COMMANDS, HEALTHCHECK_COMMANDS, DANGEROUS_COMMANDS } from "./redis/commands.js";
