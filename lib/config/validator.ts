/**
 * validateSecurityConfig: scores a configuration (the variables an app would
 * see) against a tier. Every check runs first and reports findings; the score
 * is computed afterwards from the complete list (findings.ts), so the same
 * input (variables, the files they name, and `now`) always gives the same
 * score. The validator never throws on bad input: bad input is a finding.
 *
 * The checks and their ids are listed in docs/validator.md.
 */
import type { X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { KeyRing } from "../crypto/keyring.js";
import { ConfigurationError } from "../errors.js";
import { certificateValidityFindings, keyMatchesCertificate, parseCertificates } from "./certificates.js";
import { detectEnvironment, type EnvironmentDetection } from "./environment.js";
import { hasCritical, scoreFindings, sortFindings, type Finding } from "./findings.js";
import { SecureConfig, type ConfigLike } from "./generator.js";
import { missingClasses, passwordStrength } from "./password.js";
import { parseRedisUrl, type RedisUrl } from "./redis-url.js";
import { readSecretFile } from "./secret-file.js";
import { secretsEqual } from "./secret.js";
import { MIN_KEY_HASH_SECRET_BYTES } from "../cache/request-key.js";
import { DEVELOPMENT_DEFAULT_URL, plainSettingProblems } from "./settings.js";
import { tierFor, type Environment, type TierPolicy } from "./tiers.js";
import { ACL_USERS, SECRET_FILE_VARIABLES, USER_VARIABLES, type AclUser } from "./variables.js";

export interface ValidateOptions {
  /** The tier to validate against. Absent: detected from the configuration (unknown counts as production). */
  environment?: Environment;
  /** The time certificates are checked at, in ms since the epoch (default: now). Part of the input. */
  now?: number;
}

export interface ValidationResult {
  environment: Environment;
  /** How the environment was chosen, when it was detected rather than given. */
  detection: EnvironmentDetection | undefined;
  /** 0-100, see findings.ts. */
  score: number;
  /** The tier's minimum score. */
  minScore: number;
  /** Score at least the tier's minimum and no critical finding. */
  passed: boolean;
  /** Most severe first, then by id. */
  findings: Finding[];
}

type Env = Readonly<Record<string, string | undefined>>;

/** Context every check reads. */
interface Context {
  env: Env;
  policy: TierPolicy;
  tierName: string;
  now: number;
}

export function validateSecurityConfig(config: ConfigLike, opts: ValidateOptions = {}): ValidationResult {
  const env = normalize(config);
  const detection = opts.environment === undefined ? detectEnvironment(env) : undefined;
  const environment = opts.environment ?? detection!.environment;
  const policy = tierFor(environment);
  const ctx: Context = {
    env,
    policy,
    tierName: detection?.detected === "unknown" ? "production (environment unknown)" : environment,
    now: opts.now ?? Date.now(),
  };

  const findings: Finding[] = [];
  if (detection?.detected === "unknown") {
    findings.push({
      id: "environment.unknown",
      severity: "low",
      message: `the environment is ${detection.summary}`,
      remediation: "Set SECURE_REDIS_ENV to development, testing, staging or production.",
    });
  }
  for (const problem of plainSettingProblems(env)) {
    findings.push({
      id: "setting.invalid",
      severity: "high",
      message: problem.message,
      remediation:
        "Fix the value (docs/configuration.md lists the accepted ones); the app refuses to start with it.",
    });
  }
  findings.push(...checkSecretFiles(ctx));
  const url = checkUrl(ctx, findings);
  findings.push(...checkTls(ctx, url));
  const secrets = readSecrets(ctx);
  findings.push(...checkUsers(ctx, secrets));
  findings.push(...checkEncryption(ctx, secrets));
  findings.push(...checkCacheKeySecret(ctx, secrets));

  // Scored only now, over the complete list.
  const sorted = sortFindings(findings);
  const score = scoreFindings(sorted);
  return {
    environment,
    detection,
    score,
    minScore: policy.minValidationScore,
    passed: score >= policy.minValidationScore && !hasCritical(sorted),
    findings: sorted,
  };
}

function normalize(config: ConfigLike): Env {
  const record = config instanceof SecureConfig ? config.toEnvRecord() : config;
  return Object.fromEntries(
    Object.entries(record).filter(([, value]) => value !== undefined && value !== ""),
  );
}

// --- secret files ------------------------------------------------------------------------------

function checkSecretFiles(ctx: Context): Finding[] {
  const findings: Finding[] = [];
  for (const variable of SECRET_FILE_VARIABLES) {
    const path = ctx.env[variable];
    if (path === undefined) continue;
    const inline = variable.replace(/_FILE$/, "");
    if (variable !== "REDIS_TLS_KEY_FILE" && ctx.env[inline] !== undefined) {
      findings.push({
        id: "setting.conflict",
        severity: "high",
        message: `both ${inline} and ${variable} are set; the app refuses to guess which one counts`,
        remediation: `Keep only ${variable} (a file keeps the secret out of the process environment).`,
      });
    }
    let mode: number;
    try {
      mode = statSync(path).mode;
    } catch (error) {
      findings.push(unreadable(variable, path, error));
      continue;
    }
    if ((mode & 0o077) !== 0) {
      findings.push({
        id: "secret-file.permissions",
        severity: ctx.policy.secretFilesOwnerOnly ? "high" : "medium",
        message:
          `${variable}: ${path} is readable by group or others (mode ${(mode & 0o777).toString(8)})` +
          (ctx.policy.secretFilesOwnerOnly ? `; the app refuses it in ${ctx.tierName}` : ""),
        remediation: `Run: chmod 600 ${path} (or 400), owned by the user the app runs as.`,
      });
    }
  }
  return findings;
}

function unreadable(variable: string, path: string, error: unknown): Finding {
  const code = error instanceof Error && "code" in error ? String(error.code) : "unreadable";
  return {
    id: "secret-file.unreadable",
    severity: "high",
    message: `${variable}: cannot read ${path} (${code})`,
    remediation: `Point ${variable} at a file the app can read.`,
  };
}

/** Secret values by variable (inline or from the file), for the checks that look at content. */
type Secrets = Map<string, string>;

function readSecrets(ctx: Context): Secrets {
  const secrets: Secrets = new Map();
  const names = [
    ...ACL_USERS.map((user) => USER_VARIABLES[user].password),
    "REDIS_ENCRYPTION_KEYS",
    "REDIS_ENCRYPTION_KEY",
    "REDIS_CACHE_KEY_SECRET",
  ];
  for (const name of names) {
    const path = ctx.env[`${name}_FILE`];
    const inline = ctx.env[name];
    if (path !== undefined) {
      try {
        // Permissions are a finding of their own (checkSecretFiles); the content is still checked.
        secrets.set(name, readSecretFile(`${name}_FILE`, path));
      } catch {
        // Already reported as secret-file.unreadable.
      }
    } else if (inline !== undefined) {
      secrets.set(name, inline);
    }
  }
  return secrets;
}

// --- endpoint and TLS --------------------------------------------------------------------------

function checkUrl(ctx: Context, findings: Finding[]): RedisUrl | undefined {
  const value = ctx.env.REDIS_URL ?? (ctx.policy.requireTls ? undefined : DEVELOPMENT_DEFAULT_URL);
  if (value === undefined) {
    findings.push({
      id: "url.missing",
      severity: "critical",
      message: `REDIS_URL is not set; ${ctx.tierName} has no default endpoint`,
      remediation: "Set REDIS_URL=rediss://host:6379.",
    });
    return undefined;
  }
  let url: RedisUrl;
  try {
    url = parseRedisUrl(value);
  } catch (error) {
    findings.push({
      id: "url.invalid",
      severity: "critical",
      message: error instanceof ConfigurationError ? error.message : "REDIS_URL is not a valid Redis URL",
      remediation: "Use rediss://host:6379 (redis:// only in development).",
    });
    return undefined;
  }
  if (!url.tls && ctx.policy.requireTls) {
    findings.push({
      id: "tls.plaintext-url",
      severity: "critical",
      message: `REDIS_URL (${url.display}) is plaintext redis://; ${ctx.tierName} requires TLS`,
      remediation: `Use rediss://${url.host}:${url.port} and serve TLS only on the server (port 0, tls-port).`,
    });
  }
  if (url.password !== undefined) {
    findings.push({
      id: "url.password-in-url",
      severity: "medium",
      message: "REDIS_URL carries a password; URLs end up in logs, error reports and process listings",
      remediation: "Remove the password from REDIS_URL and set REDIS_PASSWORD_FILE (or REDIS_PASSWORD).",
    });
  }
  return url;
}

function checkTls(ctx: Context, url: RedisUrl | undefined): Finding[] {
  const findings: Finding[] = [];
  const { env, policy } = ctx;
  if (isFalse(env.REDIS_TLS_REJECT_UNAUTHORIZED)) {
    findings.push({
      id: "tls.verification-disabled",
      severity: policy.requireTls ? "critical" : "medium",
      message:
        "REDIS_TLS_REJECT_UNAUTHORIZED=false: the server certificate is not verified, so anyone on the path can impersonate Redis",
      remediation: "Remove it and set REDIS_TLS_CA_FILE to the CA that signed the server certificate.",
    });
  }
  const mutual =
    isTrue(env.REDIS_TLS_MUTUAL) || (env.REDIS_TLS_MUTUAL === undefined && policy.requireMutualTls);
  if (policy.requireMutualTls && isFalse(env.REDIS_TLS_MUTUAL)) {
    findings.push({
      id: "tls.mutual-disabled",
      severity: "high",
      message: `REDIS_TLS_MUTUAL=false, but ${ctx.tierName} requires mutual TLS`,
      remediation:
        "Remove REDIS_TLS_MUTUAL and give the app a client certificate (REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE).",
    });
  }
  const certFile = env.REDIS_TLS_CERT_FILE;
  const keyFile = env.REDIS_TLS_KEY_FILE;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    findings.push({
      id: "tls.client-certificate-incomplete",
      severity: "high",
      message: `${certFile === undefined ? "REDIS_TLS_KEY_FILE" : "REDIS_TLS_CERT_FILE"} is set without ${certFile === undefined ? "REDIS_TLS_CERT_FILE" : "REDIS_TLS_KEY_FILE"}`,
      remediation: "Set both REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE, or neither.",
    });
  } else if (mutual && certFile === undefined && url?.tls !== false) {
    // Medium, not high: the server enforces mutual TLS, so a missing certificate fails closed (no connection).
    findings.push({
      id: "tls.client-certificate-missing",
      severity: "medium",
      message: "mutual TLS is required but no client certificate is configured yet",
      remediation:
        "Set REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE to the certificate your CA issued for this app.",
    });
  }
  if (url !== undefined && !url.tls) {
    for (const variable of [
      "REDIS_TLS_CA_FILE",
      "REDIS_TLS_CERT_FILE",
      "REDIS_TLS_KEY_FILE",
      "REDIS_TLS_SERVERNAME",
    ]) {
      if (env[variable] !== undefined) {
        findings.push({
          id: "tls.options-without-tls",
          severity: "medium",
          message: `${variable} is set but REDIS_URL is plaintext redis://, so it has no effect`,
          remediation: "Use a rediss:// URL.",
        });
      }
    }
  }
  findings.push(...checkCertificateFile(ctx, "REDIS_TLS_CA_FILE", "tls.ca").findings);
  const client = checkCertificateFile(ctx, "REDIS_TLS_CERT_FILE", "tls.client");
  findings.push(...client.findings);
  const [clientCert] = client.certs;
  if (clientCert !== undefined && certFile !== undefined && keyFile !== undefined) {
    findings.push(...checkKeyMatch(clientCert, certFile, keyFile));
  }
  return findings;
}

function checkCertificateFile(
  ctx: Context,
  variable: string,
  idPrefix: string,
): { findings: Finding[]; certs: X509Certificate[] } {
  const path = ctx.env[variable];
  if (path === undefined) return { findings: [], certs: [] };
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (error) {
    const code = error instanceof Error && "code" in error ? String(error.code) : "unreadable";
    const finding: Finding = {
      id: `${idPrefix}.file-unreadable`,
      severity: "high",
      message: `${variable}: cannot read ${path} (${code})`,
      remediation: `Point ${variable} at a readable PEM file.`,
    };
    return { findings: [finding], certs: [] };
  }
  let certs: X509Certificate[];
  try {
    certs = parseCertificates(pem);
  } catch {
    certs = [];
  }
  if (certs.length === 0) {
    const finding: Finding = {
      id: `${idPrefix}.certificate-invalid`,
      severity: "high",
      message: `${variable}: ${path} holds no valid PEM certificate`,
      remediation: `Point ${variable} at the PEM certificate (-----BEGIN CERTIFICATE-----).`,
    };
    return { findings: [finding], certs: [] };
  }
  const findings = certs.flatMap((cert) =>
    certificateValidityFindings(cert, `${variable} (${path})`, ctx.policy.certificate, ctx.now, idPrefix),
  );
  return { findings, certs };
}

function checkKeyMatch(cert: X509Certificate, certFile: string, keyFile: string): Finding[] {
  let matches: boolean;
  try {
    matches = keyMatchesCertificate(cert, readFileSync(keyFile, "utf8"));
  } catch (error) {
    // An unreadable key file is reported by checkSecretFiles; an unparsable one here.
    if (error instanceof Error && "code" in error && error.code === "ENOENT") return [];
    return [
      {
        id: "tls.client-key-invalid",
        severity: "high",
        message: `REDIS_TLS_KEY_FILE (${keyFile}) does not hold a readable PEM private key`,
        remediation: "Point REDIS_TLS_KEY_FILE at the unencrypted PEM private key of the client certificate.",
      },
    ];
  }
  if (matches) return [];
  return [
    {
      id: "tls.client-key-mismatch",
      severity: "high",
      message: `REDIS_TLS_KEY_FILE (${keyFile}) is not the private key of REDIS_TLS_CERT_FILE (${certFile})`,
      remediation: "Deploy the key that belongs to the certificate (or the certificate issued for this key).",
    },
  ];
}

// --- users and passwords -------------------------------------------------------------------------

function checkUsers(ctx: Context, secrets: Secrets): Finding[] {
  const findings: Finding[] = [];
  const { env, policy } = ctx;
  const appUser = env.REDIS_USERNAME;
  if (policy.requireAuthentication && (appUser === undefined || appUser === "default")) {
    findings.push({
      id: "username.default",
      severity: "high",
      message: `REDIS_USERNAME is ${appUser === undefined ? "not set" : '"default"'}; ${ctx.tierName} requires a named ACL user`,
      remediation: "Create a named user with only the commands the app needs and set REDIS_USERNAME to it.",
    });
  }
  const passwords: Array<{ user: AclUser; variable: string; value: string }> = [];
  for (const user of ACL_USERS) {
    const variable = USER_VARIABLES[user].password;
    const value = secrets.get(variable);
    if (value === undefined) {
      if (user === "app" && policy.requireAuthentication && env[`${variable}_FILE`] === undefined) {
        findings.push({
          id: "password.missing",
          severity: "critical",
          message: `REDIS_PASSWORD is not set; ${ctx.tierName} requires authentication`,
          remediation:
            "Generate one with `secure-redis gen-config` and set REDIS_PASSWORD_FILE (or REDIS_PASSWORD).",
        });
      }
      continue;
    }
    passwords.push({ user, variable, value });
    findings.push(...checkPassword(ctx, variable, value));
  }
  for (let i = 0; i < passwords.length; i++) {
    for (let j = i + 1; j < passwords.length; j++) {
      const a = passwords[i]!;
      const b = passwords[j]!;
      if (secretsEqual(a.value, b.value)) {
        findings.push({
          id: "password.reused",
          severity: "critical",
          message: `${a.variable} and ${b.variable} hold the same password: the ${a.user} and ${b.user} users cannot be told apart or revoked separately`,
          remediation: "Give every ACL user its own generated password (secure-redis gen-config).",
        });
      }
    }
  }
  return findings;
}

function checkPassword(ctx: Context, variable: string, password: string): Finding[] {
  const findings: Finding[] = [];
  const rule = ctx.policy.password;
  if (password.length < rule.randomLength) {
    findings.push({
      id: "password.too-short",
      severity: "high",
      message: `${variable} has ${password.length} characters; ${ctx.tierName} requires at least ${rule.randomLength}`,
      remediation: "Generate a new password with `secure-redis gen-config` and rotate it.",
    });
  }
  const missing = missingClasses(password, rule);
  if (missing.length > 0) {
    findings.push({
      id: "password.missing-classes",
      severity: "medium",
      message: `${variable} lacks ${missing.join(", ")} characters, which ${ctx.tierName} requires`,
      remediation: "Generate a new password with `secure-redis gen-config` and rotate it.",
    });
  }
  const strength = passwordStrength(password);
  if (strength.guessesLog10 < rule.minGuessesLog10) {
    findings.push({
      id: "password.weak",
      severity: "high",
      message:
        `${variable} is guessable: about 10^${Math.floor(strength.guessesLog10)} guesses (zxcvbn), ` +
        `${ctx.tierName} requires 10^${rule.minGuessesLog10}${strength.warning === undefined ? "" : ` (pattern: ${strength.warning})`}`,
      remediation: "Replace it with a random password from `secure-redis gen-config`.",
    });
  }
  return findings;
}

// --- encryption ----------------------------------------------------------------------------------

function checkEncryption(ctx: Context, secrets: Secrets): Finding[] {
  const { env, policy } = ctx;
  const disabled = isFalse(env.REDIS_ENABLE_ENCRYPTION);
  const enabled = isTrue(env.REDIS_ENABLE_ENCRYPTION) || (!disabled && policy.requireEncryption);
  const findings: Finding[] = [];
  if (!enabled) {
    findings.push({
      id: "encryption.disabled",
      severity: policy.requireEncryption ? "critical" : "info",
      message: policy.requireEncryption
        ? `REDIS_ENABLE_ENCRYPTION=false, but ${ctx.tierName} requires encrypted values`
        : "cached values are stored unencrypted (allowed in this tier)",
      remediation: "Set REDIS_ENABLE_ENCRYPTION=true and REDIS_ENCRYPTION_KEYS (secure-redis gen-key).",
    });
  }
  const source = secrets.has("REDIS_ENCRYPTION_KEYS") ? "REDIS_ENCRYPTION_KEYS" : "REDIS_ENCRYPTION_KEY";
  const list = secrets.get(source);
  if (list === undefined) {
    if (enabled) {
      findings.push({
        id: "encryption.key-missing",
        severity: "critical",
        message: "encryption is on but REDIS_ENCRYPTION_KEYS is not set",
        remediation:
          "Generate a key with `secure-redis gen-key` and set REDIS_ENCRYPTION_KEYS_FILE (or REDIS_ENCRYPTION_KEYS).",
      });
    }
    return findings;
  }
  let ring: KeyRing;
  try {
    ring = KeyRing.parse(list, source);
  } catch (error) {
    // KeyRing's messages name the position and the problem, never the key.
    findings.push({
      id: "encryption.key-invalid",
      severity: "critical",
      message: error instanceof Error ? error.message : `${source} does not parse`,
      remediation:
        "Each key is a 44-character URL-safe base64 Fernet key (secure-redis gen-key), comma separated, primary first.",
    });
    return findings;
  }
  const maxKeys = 1 + policy.retainedEncryptionKeys;
  if (ring.size > maxKeys) {
    findings.push({
      id: "encryption.too-many-keys",
      severity: "medium",
      message: `${source} holds ${ring.size} keys; ${ctx.tierName} keeps at most ${maxKeys} (primary and ${policy.retainedEncryptionKeys} previous)`,
      remediation: "Re-encrypt old entries, then drop the oldest keys from the end of the list.",
    });
  }
  return findings;
}

function checkCacheKeySecret(ctx: Context, secrets: Secrets): Finding[] {
  const secret = secrets.get("REDIS_CACHE_KEY_SECRET");
  if (secret === undefined) {
    if (ctx.env.REDIS_CACHE_KEY_SECRET_FILE !== undefined) return []; // unreadable: reported already
    return ctx.policy.requireEncryption
      ? [
          {
            id: "cache-key-secret.missing",
            severity: "high",
            message: `REDIS_CACHE_KEY_SECRET is not set; ${ctx.tierName} requires keyed hashing of cache key names`,
            remediation: "Generate one with `secure-redis gen-key` and set REDIS_CACHE_KEY_SECRET_FILE.",
          },
        ]
      : [];
  }
  const findings: Finding[] = [];
  const bytes = Buffer.byteLength(secret, "utf8");
  if (bytes < MIN_KEY_HASH_SECRET_BYTES) {
    findings.push({
      id: "cache-key-secret.too-short",
      severity: "high",
      message: `REDIS_CACHE_KEY_SECRET has ${bytes} bytes; the cache requires at least ${MIN_KEY_HASH_SECRET_BYTES}`,
      remediation: "Generate one with `secure-redis gen-key`.",
    });
  }
  const keys = (secrets.get("REDIS_ENCRYPTION_KEYS") ?? secrets.get("REDIS_ENCRYPTION_KEY") ?? "")
    .split(/[,\n]/)
    .map((key) => key.trim())
    .filter((key) => key !== "");
  const others = [...keys, ...ACL_USERS.map((user) => secrets.get(USER_VARIABLES[user].password) ?? "")];
  // Check every candidate (no early exit), so the time taken does not say which one matched.
  const reused = others.filter((other) => other !== "" && secretsEqual(secret, other)).length > 0;
  if (reused) {
    findings.push({
      id: "cache-key-secret.reused",
      severity: "high",
      message:
        "REDIS_CACHE_KEY_SECRET equals an encryption key or a password; it must be independent so rotating one does not rename every cache key",
      remediation: "Generate a separate secret with `secure-redis gen-key`.",
    });
  }
  return findings;
}

// --- helpers -------------------------------------------------------------------------------------

const TRUE = new Set(["true", "1", "yes", "on", "y", "enabled"]);
const FALSE = new Set(["false", "0", "no", "off", "n", "disabled"]);
function isTrue(value: string | undefined): boolean {
  return value !== undefined && TRUE.has(value.trim().toLowerCase());
}
function isFalse(value: string | undefined): boolean {
  return value !== undefined && FALSE.has(value.trim().toLowerCase());
}
