/**
 * Settings from the environment: one place that reads every REDIS_* variable,
 * validates it (zod for the plain values, the shared secret-file reader for
 * every `*_FILE`, the KeyRing parser for keys) and refuses what the tier
 * forbids. Each error is a `ConfigurationError` that names the variable and
 * the fix and never carries a secret value.
 *
 * docs/configuration.md lists every variable with its default per tier.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { checkKeyHashSecret } from "../cache/request-key.js";
import { KeyRing } from "../crypto/keyring.js";
import { ConfigurationError } from "../errors.js";
import {
  detectEnvironment,
  EXPLICIT_ENVIRONMENT_VARIABLE,
  type EnvironmentDetection,
} from "./environment.js";
import { parseRedisUrl } from "./redis-url.js";
import { readSecretFile, readSetting } from "./secret-file.js";
import { Secret } from "./secret.js";
import { ENVIRONMENTS, tierFor, type Environment, type TierPolicy } from "./tiers.js";

/** The URL used in development when REDIS_URL is unset: the local default port, loopback only. */
export const DEVELOPMENT_DEFAULT_URL = "redis://127.0.0.1:6379";
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

export interface TlsSettings {
  /** CA bundle (PEM) that must have signed the server certificate; absent: Node's public roots. */
  ca: string | undefined;
  caFile: string | undefined;
  /** Client certificate (PEM) for mutual TLS. */
  cert: string | undefined;
  certFile: string | undefined;
  /** Client private key (PEM), a secret. */
  key: Secret | undefined;
  keyFile: string | undefined;
  /** Name checked against the server certificate (and sent as SNI); absent: the URL host. */
  servername: string | undefined;
  /** Verify the server certificate. False only in development. */
  rejectUnauthorized: boolean;
  /** The server requires a client certificate. */
  mutual: boolean;
}

export interface Settings {
  /** The tier whose policy applies (production when the environment is unknown). */
  environment: Environment;
  detection: EnvironmentDetection;
  policy: TierPolicy;
  redis: {
    host: string;
    port: number;
    db: number;
    tls: boolean;
    /** REDIS_URL without its password: safe to print. */
    url: string;
    username: string | undefined;
    password: Secret | undefined;
    /** Where the password came from (a variable name), for messages. */
    passwordSource: string | undefined;
  };
  tls: TlsSettings;
  encryption: { enabled: boolean; keyRing: KeyRing | undefined };
  /** The HMAC secret that turns requests into key names; independent of the encryption keys. */
  cacheKeySecret: Secret | undefined;
  timeouts: { connectMs: number; commandMs: number };
}

const booleanSetting = (name: string) => z.stringbool({ error: `${name} must be true or false` }).optional();
const timeoutSetting = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a whole number of milliseconds` })
    .int({ error: `${name} must be a whole number of milliseconds` })
    .min(100, { error: `${name} must be at least 100 (milliseconds)` })
    .max(600_000, { error: `${name} must be at most 600000 (10 minutes)` })
    .optional();

/** The plain (non-secret) variables. Secrets never pass through zod, so no issue can echo one. */
const PlainSettings = z.object({
  REDIS_URL: z.string().optional(),
  REDIS_USERNAME: z
    .string()
    .regex(/^[A-Za-z0-9._@:-]{1,128}$/, {
      error: "REDIS_USERNAME must be an ACL user name (letters, digits, . _ @ : -)",
    })
    .optional(),
  REDIS_TLS_CA_FILE: z.string().optional(),
  REDIS_TLS_CERT_FILE: z.string().optional(),
  REDIS_TLS_SERVERNAME: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,253}$/, { error: "REDIS_TLS_SERVERNAME must be a DNS name" })
    .optional(),
  REDIS_TLS_REJECT_UNAUTHORIZED: booleanSetting("REDIS_TLS_REJECT_UNAUTHORIZED"),
  REDIS_TLS_MUTUAL: booleanSetting("REDIS_TLS_MUTUAL"),
  REDIS_ENABLE_ENCRYPTION: booleanSetting("REDIS_ENABLE_ENCRYPTION"),
  REDIS_CONNECT_TIMEOUT_MS: timeoutSetting("REDIS_CONNECT_TIMEOUT_MS"),
  REDIS_COMMAND_TIMEOUT_MS: timeoutSetting("REDIS_COMMAND_TIMEOUT_MS"),
});
type Plain = z.infer<typeof PlainSettings>;

/**
 * Reads and checks the settings in `env`.
 * @throws ConfigurationError naming the variable and the fix.
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const detection = detectEnvironment(env);
  const explicit = detection.signals.find((signal) => signal.variable === EXPLICIT_ENVIRONMENT_VARIABLE);
  if (explicit !== undefined && explicit.environment === null) {
    throw new ConfigurationError(
      EXPLICIT_ENVIRONMENT_VARIABLE,
      `"${explicit.value.slice(0, 32)}" names no environment; use one of ${ENVIRONMENTS.join(", ")}`,
    );
  }
  const environment = detection.environment;
  const policy = tierFor(environment);
  const secretFileOptions = { requireOwnerOnly: policy.secretFilesOwnerOnly };
  const plain = parsePlain(env);
  const tierName = detection.detected === "unknown" ? "production (environment unknown)" : environment;

  // Endpoint.
  if (plain.REDIS_URL === undefined && environment !== "development") {
    throw new ConfigurationError("REDIS_URL", `is required in ${tierName}; set it to rediss://host:6379`);
  }
  const url = parseRedisUrl(plain.REDIS_URL ?? DEVELOPMENT_DEFAULT_URL);
  if (policy.requireTls && !url.tls) {
    throw new ConfigurationError(
      "REDIS_URL",
      `uses plaintext redis:// but ${tierName} requires TLS; use rediss://${url.host}:${url.port}`,
    );
  }

  // Credentials.
  const username = pickOne("REDIS_USERNAME", plain.REDIS_USERNAME, url.username, "the user name");
  const passwordSetting = readSetting(env, "REDIS_PASSWORD", secretFileOptions);
  if (passwordSetting !== undefined && url.password !== undefined) {
    throw new ConfigurationError(
      passwordSetting.source,
      "is set and REDIS_URL carries a password too; remove the password from REDIS_URL",
    );
  }
  const password = passwordSetting === undefined ? url.password : new Secret(passwordSetting.value);
  const passwordSource = passwordSetting?.source ?? (url.password === undefined ? undefined : "REDIS_URL");
  if (policy.requireAuthentication) {
    if (username === undefined || username === "default") {
      throw new ConfigurationError(
        "REDIS_USERNAME",
        `${tierName} requires a named ACL user (the default user is disabled there); set REDIS_USERNAME, e.g. app`,
      );
    }
    if (password === undefined) {
      throw new ConfigurationError(
        "REDIS_PASSWORD",
        `${tierName} requires a password; set REDIS_PASSWORD_FILE to a file holding it (or REDIS_PASSWORD)`,
      );
    }
    if (password.length < policy.password.randomLength) {
      throw new ConfigurationError(
        passwordSource ?? "REDIS_PASSWORD",
        `the password has ${password.length} characters, ${tierName} requires at least ${policy.password.randomLength}; ` +
          "generate one with: secure-redis gen-config",
      );
    }
  }

  const tls = loadTls(env, plain, policy, tierName, url.tls, secretFileOptions);
  const encryption = loadEncryption(env, plain, policy, tierName, secretFileOptions);
  const cacheKeySecret = loadCacheKeySecret(env, policy, tierName, secretFileOptions);

  return {
    environment,
    detection,
    policy,
    redis: {
      host: url.host,
      port: url.port,
      db: url.db,
      tls: url.tls,
      url: url.display,
      username,
      password,
      passwordSource,
    },
    tls,
    encryption,
    cacheKeySecret,
    timeouts: {
      connectMs: plain.REDIS_CONNECT_TIMEOUT_MS ?? DEFAULT_CONNECT_TIMEOUT_MS,
      commandMs: plain.REDIS_COMMAND_TIMEOUT_MS ?? DEFAULT_COMMAND_TIMEOUT_MS,
    },
  };
}

function parsePlain(env: NodeJS.ProcessEnv): Plain {
  const result = PlainSettings.safeParse(presentPlainVariables(env));
  if (result.success) return result.data;
  const [first] = problemsOf(result.error.issues);
  throw new ConfigurationError(
    first?.variable ?? "settings",
    `${first?.problem ?? "is invalid"}; see docs/configuration.md`,
  );
}

/** Every malformed plain variable in `env` (the validator reports them all; loadSettings stops at the first). */
export function plainSettingProblems(
  env: Readonly<Record<string, string | undefined>>,
): Array<{ variable: string; message: string }> {
  const result = PlainSettings.safeParse(presentPlainVariables(env));
  if (result.success) return [];
  return problemsOf(result.error.issues).map(({ variable, problem }) => ({
    variable,
    message: `${variable} ${problem}`,
  }));
}

function presentPlainVariables(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  // An empty variable counts as unset, as in readSetting.
  const present: Record<string, string> = {};
  for (const name of Object.keys(PlainSettings.shape)) {
    const value = env[name];
    if (value !== undefined && value !== "") present[name] = value;
  }
  return present;
}

function problemsOf(issues: readonly z.core.$ZodIssue[]): Array<{ variable: string; problem: string }> {
  return issues.map((issue) => {
    const variable = String(issue.path[0] ?? "settings");
    // Our messages start with the variable name; strip it so it is not repeated.
    return { variable, problem: issue.message.replace(new RegExp(`^${variable} `), "") };
  });
}

function pickOne(
  variable: string,
  fromVariable: string | undefined,
  fromUrl: string | undefined,
  what: string,
): string | undefined {
  if (fromVariable !== undefined && fromUrl !== undefined && fromVariable !== fromUrl) {
    throw new ConfigurationError(variable, `disagrees with ${what} in REDIS_URL; set it in one place only`);
  }
  return fromVariable ?? fromUrl;
}

function loadTls(
  env: NodeJS.ProcessEnv,
  plain: Plain,
  policy: TierPolicy,
  tierName: string,
  urlIsTls: boolean,
  secretFileOptions: { requireOwnerOnly: boolean },
): TlsSettings {
  const keyFile = nonEmpty(env.REDIS_TLS_KEY_FILE);
  const rejectUnauthorized = plain.REDIS_TLS_REJECT_UNAUTHORIZED ?? true;
  const mutual = plain.REDIS_TLS_MUTUAL ?? policy.requireMutualTls;
  const tlsVariables = {
    REDIS_TLS_CA_FILE: plain.REDIS_TLS_CA_FILE,
    REDIS_TLS_CERT_FILE: plain.REDIS_TLS_CERT_FILE,
    REDIS_TLS_KEY_FILE: keyFile,
    REDIS_TLS_SERVERNAME: plain.REDIS_TLS_SERVERNAME,
  };
  if (!urlIsTls) {
    const stray = Object.entries(tlsVariables).find(([, value]) => value !== undefined)?.[0];
    if (stray !== undefined) {
      throw new ConfigurationError(stray, "is set but REDIS_URL is plaintext redis://; use a rediss:// URL");
    }
  }
  if (!rejectUnauthorized && policy.requireTls) {
    throw new ConfigurationError(
      "REDIS_TLS_REJECT_UNAUTHORIZED",
      `is false, but ${tierName} requires verified TLS; remove it and set REDIS_TLS_CA_FILE to the CA that signed the server certificate`,
    );
  }
  if (policy.requireMutualTls && !mutual) {
    throw new ConfigurationError(
      "REDIS_TLS_MUTUAL",
      `is false, but ${tierName} requires mutual TLS; remove it and set REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE`,
    );
  }
  if ((plain.REDIS_TLS_CERT_FILE === undefined) !== (keyFile === undefined)) {
    const missing = keyFile === undefined ? "REDIS_TLS_KEY_FILE" : "REDIS_TLS_CERT_FILE";
    throw new ConfigurationError(
      missing,
      "is missing: a client certificate needs both REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE",
    );
  }
  if (urlIsTls && mutual && keyFile === undefined) {
    throw new ConfigurationError(
      "REDIS_TLS_CERT_FILE",
      `mutual TLS is on (${plain.REDIS_TLS_MUTUAL === undefined ? `${tierName} requires it` : "REDIS_TLS_MUTUAL=true"}); ` +
        "set REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE to the client certificate and its key",
    );
  }
  return {
    ca: readPublicFile("REDIS_TLS_CA_FILE", plain.REDIS_TLS_CA_FILE),
    caFile: plain.REDIS_TLS_CA_FILE,
    cert: readPublicFile("REDIS_TLS_CERT_FILE", plain.REDIS_TLS_CERT_FILE),
    certFile: plain.REDIS_TLS_CERT_FILE,
    key:
      keyFile === undefined
        ? undefined
        : new Secret(readSecretFile("REDIS_TLS_KEY_FILE", keyFile, secretFileOptions)),
    keyFile,
    servername: plain.REDIS_TLS_SERVERNAME,
    rejectUnauthorized,
    mutual: urlIsTls && mutual,
  };
}

function loadEncryption(
  env: NodeJS.ProcessEnv,
  plain: Plain,
  policy: TierPolicy,
  tierName: string,
  secretFileOptions: { requireOwnerOnly: boolean },
): Settings["encryption"] {
  const enabled = plain.REDIS_ENABLE_ENCRYPTION ?? policy.requireEncryption;
  if (policy.requireEncryption && !enabled) {
    throw new ConfigurationError(
      "REDIS_ENABLE_ENCRYPTION",
      `is false, but ${tierName} requires encrypted values; remove it and set REDIS_ENCRYPTION_KEYS`,
    );
  }
  const keyRing = KeyRing.fromEnv(env, secretFileOptions);
  if (enabled && keyRing === undefined) {
    throw new ConfigurationError(
      "REDIS_ENCRYPTION_KEYS",
      "encryption is on but no key is set; generate one with `secure-redis gen-key` and set REDIS_ENCRYPTION_KEYS (or REDIS_ENCRYPTION_KEYS_FILE)",
    );
  }
  const maxKeys = 1 + policy.retainedEncryptionKeys;
  if (keyRing !== undefined && keyRing.size > maxKeys) {
    throw new ConfigurationError(
      "REDIS_ENCRYPTION_KEYS",
      `holds ${keyRing.size} keys; ${tierName} keeps at most ${maxKeys} (the primary and ${policy.retainedEncryptionKeys} previous); drop the oldest, after re-encrypting`,
    );
  }
  return { enabled, keyRing };
}

function loadCacheKeySecret(
  env: NodeJS.ProcessEnv,
  policy: TierPolicy,
  tierName: string,
  secretFileOptions: { requireOwnerOnly: boolean },
): Secret | undefined {
  const setting = readSetting(env, "REDIS_CACHE_KEY_SECRET", secretFileOptions);
  if (setting === undefined) {
    if (policy.requireEncryption) {
      throw new ConfigurationError(
        "REDIS_CACHE_KEY_SECRET",
        `is required in ${tierName}; generate one with \`secure-redis gen-key\` and set REDIS_CACHE_KEY_SECRET_FILE (or REDIS_CACHE_KEY_SECRET)`,
      );
    }
    return undefined;
  }
  // The cache's own rule (bytes, not characters), so settings and cache agree on what is long enough.
  checkKeyHashSecret(setting.value, setting.source);
  return new Secret(setting.value);
}

/** Reads a certificate or CA file (public material). Errors name the variable and the path. */
function readPublicFile(variable: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = error instanceof Error && "code" in error ? String(error.code) : "unreadable";
    throw new ConfigurationError(
      variable,
      `cannot read ${path} (${code}); point ${variable} at a readable PEM file`,
    );
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
