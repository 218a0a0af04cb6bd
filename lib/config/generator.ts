/**
 * SecureConfigGenerator: fresh secrets for a tier, rendered as a dotenv file,
 * saved safely, and compared without showing secret values.
 */
import { randomBytes, randomUUID } from "node:crypto";
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { Fernet } from "../crypto/fernet.js";
import { SecureRedisError } from "../errors.js";
import { parseDotenv, renderDotenv } from "./dotenv.js";
import { detectEnvironment, EXPLICIT_ENVIRONMENT_VARIABLE } from "./environment.js";
import { generatePassword, type RandomIndex } from "./password.js";
import { parseRedisUrl } from "./redis-url.js";
import { REDACTED, Secret, secretsEqual } from "./secret.js";
import { tierFor, type Environment } from "./tiers.js";
import { ACL_USERS, USER_VARIABLES, isSecretVariable, type AclUser } from "./variables.js";

/** Bytes of the key-hashing secret: 32, the HMAC-SHA256 block-size sweet spot (43 base64url characters). */
const CACHE_KEY_SECRET_BYTES = 32;

/** Variables that describe a generation rather than configure anything; drift comparison skips them. */
export const GENERATION_METADATA = [
  "SECURE_REDIS_GENERATED_AT",
  "SECURE_REDIS_DETECTION_CONFIDENCE",
] as const;

export interface GenerateOptions {
  /** The tier to generate for. Absent: detected from `env` (unknown counts as production). */
  environment?: Environment;
  /** Where to detect the environment when `environment` is absent (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Redis host for REDIS_URL (default "localhost"). */
  host?: string;
  /** Redis port for REDIS_URL (default 6379). */
  port?: number;
}

export interface SecureConfigUser {
  username: string;
  password: Secret;
}

/** A generated configuration. Its JSON form (`JSON.stringify`) is redacted; `toEnv()` holds the secrets. */
export class SecureConfig {
  constructor(
    readonly environment: Environment,
    /** ISO 8601 time of generation. */
    readonly generatedAt: string,
    /** Confidence of the environment choice: 1 when given explicitly, else the detector's. */
    readonly detectionConfidence: number,
    /** REDIS_URL (never carries a password: that is REDIS_PASSWORD). */
    readonly url: string,
    readonly users: Readonly<Record<AclUser, SecureConfigUser>>,
    /** Fernet keys, primary first. */
    readonly encryptionKeys: readonly Secret[],
    readonly cacheKeySecret: Secret,
    readonly tls: { readonly required: boolean; readonly mutual: boolean },
    readonly encryption: { readonly enabled: boolean },
  ) {}

  /** The variables, in file order, values in clear. */
  toEnvEntries(): Array<[string, string]> {
    const entries: Array<[string, string]> = [
      [EXPLICIT_ENVIRONMENT_VARIABLE, this.environment],
      ["REDIS_URL", this.url],
    ];
    for (const user of ACL_USERS) {
      entries.push([USER_VARIABLES[user].username, this.users[user].username]);
      entries.push([USER_VARIABLES[user].password, this.users[user].password.reveal()]);
    }
    entries.push(
      ["REDIS_ENABLE_ENCRYPTION", String(this.encryption.enabled)],
      ["REDIS_ENCRYPTION_KEYS", this.encryptionKeys.map((key) => key.reveal()).join(",")],
      ["REDIS_CACHE_KEY_SECRET", this.cacheKeySecret.reveal()],
      ["REDIS_TLS_MUTUAL", String(this.tls.mutual)],
      ["SECURE_REDIS_GENERATED_AT", this.generatedAt],
      ["SECURE_REDIS_DETECTION_CONFIDENCE", String(this.detectionConfidence)],
    );
    return entries;
  }

  /** The variables as an object, values in clear (what an app would see in `process.env`). */
  toEnvRecord(): Record<string, string> {
    return Object.fromEntries(this.toEnvEntries());
  }

  /**
   * The dotenv file. Any dotenv parser reads it back exactly (see dotenv.ts).
   * `redact` replaces every secret with "[redacted]" (for --dry-run).
   */
  toEnv(opts: { redact?: boolean } = {}): string {
    const entries = this.toEnvEntries().map(([name, value]): [string, string] => [
      name,
      opts.redact === true && isSecretVariable(name) && name !== "REDIS_URL" ? REDACTED : value,
    ]);
    const header = [
      `secure-redis configuration for ${this.environment}, generated ${this.generatedAt}`,
      `environment confidence ${this.detectionConfidence}; keep this file mode 0600 and out of version control`,
    ];
    if (this.tls.mutual) {
      header.push(
        "this tier requires mutual TLS: add REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE (client certificate)",
      );
    }
    return renderDotenv(entries, header);
  }

  /** Redacted description: key ids and lengths, never values. */
  toJSON(): Record<string, unknown> {
    return {
      environment: this.environment,
      generatedAt: this.generatedAt,
      detectionConfidence: this.detectionConfidence,
      url: this.url,
      users: Object.fromEntries(
        ACL_USERS.map((user) => [
          user,
          {
            username: this.users[user].username,
            password: `${REDACTED} (${this.users[user].password.length} characters)`,
          },
        ]),
      ),
      encryptionKeys: this.encryptionKeys.map(
        (key) => `${REDACTED} (key id ${new Fernet(key.reveal()).keyId})`,
      ),
      cacheKeySecret: `${REDACTED} (${this.cacheKeySecret.length} characters)`,
      tls: { ...this.tls },
      encryption: { ...this.encryption },
    };
  }
}

export interface SaveOptions {
  /** Replace an existing file (after backing it up). */
  force?: boolean;
  /** Write nothing; return the redacted text that would be written. */
  dryRun?: boolean;
  /** Clock for the backup name (tests). */
  now?: () => Date;
}

export interface SaveResult {
  path: string;
  written: boolean;
  /** Where the previous file was copied, when there was one. */
  backupPath: string | undefined;
  /** The file content; redacted for a dry run. */
  text: string;
}

/** Refused because the target exists and `force` was not given. */
export class ConfigFileExistsError extends SecureRedisError {
  readonly path: string;
  constructor(path: string) {
    super(`${path} already exists; pass --force to replace it (the current file is backed up first)`);
    this.path = path;
  }
}

export type ConfigLike = SecureConfig | Readonly<Record<string, string | undefined>>;

export interface SettingDifference {
  setting: string;
  change: "added" | "removed" | "changed";
  /** True when the values are secrets: `before`/`after` are then absent. */
  secret: boolean;
  before?: string;
  after?: string;
}

export interface DriftReport {
  identical: boolean;
  differences: SettingDifference[];
}

export class SecureConfigGenerator {
  readonly #random: RandomIndex | undefined;
  readonly #now: () => Date;

  /** `random` and `now` are for tests; the defaults are `crypto.randomInt` and the clock. */
  constructor(opts: { random?: RandomIndex; now?: () => Date } = {}) {
    this.#random = opts.random;
    this.#now = opts.now ?? (() => new Date());
  }

  generate(opts: GenerateOptions = {}): SecureConfig {
    const detection = opts.environment === undefined ? detectEnvironment(opts.env ?? process.env) : undefined;
    const environment = opts.environment ?? detection?.environment ?? "production";
    const policy = tierFor(environment);
    const users = Object.fromEntries(
      ACL_USERS.map((user) => [
        user,
        { username: user, password: new Secret(generatePassword(policy.password, this.#random)) },
      ]),
    ) as Record<AclUser, SecureConfigUser>;
    const host = opts.host ?? "localhost";
    const port = opts.port ?? 6379;
    const url = `${policy.requireTls ? "rediss" : "redis"}://${host.includes(":") ? `[${host}]` : host}:${port}`;
    parseRedisUrl(url, "host"); // a bad host fails here, not in the app
    return new SecureConfig(
      environment,
      this.#now().toISOString(),
      detection?.confidence ?? 1,
      url,
      users,
      [new Secret(Fernet.generateKey())],
      new Secret(randomBytes(CACHE_KEY_SECRET_BYTES).toString("base64url")),
      { required: policy.requireTls, mutual: policy.requireMutualTls },
      { enabled: policy.requireEncryption },
    );
  }

  /**
   * Writes `config` to `path` with mode 0600: through a temp file in the same
   * directory (created 0600, fsynced, renamed over), so the file is never
   * readable by others, not even for a moment, and never half written. An
   * existing file is refused without `force`, and copied to
   * `<path>.bak-<timestamp>` (0600) before it is replaced.
   */
  save(config: SecureConfig, path: string, opts: SaveOptions = {}): SaveResult {
    if (opts.dryRun === true) {
      return { path, written: false, backupPath: undefined, text: config.toEnv({ redact: true }) };
    }
    const text = config.toEnv();
    const exists = existsSync(path);
    if (exists && opts.force !== true) throw new ConfigFileExistsError(path);
    let backupPath: string | undefined;
    if (exists) {
      const stamp = (opts.now ?? this.#now)().toISOString().replace(/[:.]/g, "-");
      backupPath = `${path}.bak-${stamp}`;
      writeOwnerOnly(backupPath, readFileSync(path));
    }
    const temp = join(dirname(path), `.${basename(path)}.tmp-${randomUUID()}`);
    try {
      writeOwnerOnly(temp, text);
      renameSync(temp, path);
    } catch (error) {
      rmSync(temp, { force: true });
      throw error;
    }
    return { path, written: true, backupPath, text: config.toEnv({ redact: true }) };
  }

  /** See `compareConfigs`. */
  compare(a: ConfigLike, b: ConfigLike): DriftReport {
    return compareConfigs(a, b);
  }
}

/** Creates `path` (it must not exist) with mode 0600 and writes `data`, durably. */
function writeOwnerOnly(path: string, data: string | Buffer): void {
  const fd = openSync(path, "wx", 0o600);
  try {
    // The umask can only remove bits from 0600; chmod makes the mode exact anyway.
    chmodSync(path, 0o600);
    writeSync(fd, typeof data === "string" ? Buffer.from(data, "utf8") : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Which settings differ between two configurations (drift detection).
 * Secret values are compared in constant time and never reported; REDIS_URL
 * is shown without its password. Generation metadata is ignored.
 */
export function compareConfigs(a: ConfigLike, b: ConfigLike): DriftReport {
  const left = toRecord(a);
  const right = toRecord(b);
  const names = [...new Set([...Object.keys(left), ...Object.keys(right)])]
    .filter((name) => !(GENERATION_METADATA as readonly string[]).includes(name))
    .sort();
  const differences: SettingDifference[] = [];
  for (const name of names) {
    const before = left[name];
    const after = right[name];
    if (before === undefined && after === undefined) continue;
    const secret = isSecretVariable(name);
    const change = before === undefined ? "added" : after === undefined ? "removed" : undefined;
    if (change === undefined && (secret ? secretsEqual(before!, after!) : before === after)) continue;
    const difference: SettingDifference = { setting: name, change: change ?? "changed", secret };
    if (!secret) {
      if (before !== undefined) difference.before = before;
      if (after !== undefined) difference.after = after;
    } else if (name === "REDIS_URL") {
      if (before !== undefined) difference.before = displayUrl(before);
      if (after !== undefined) difference.after = displayUrl(after);
    }
    differences.push(difference);
  }
  return { identical: differences.length === 0, differences };
}

function toRecord(config: ConfigLike): Record<string, string | undefined> {
  if (config instanceof SecureConfig) return config.toEnvRecord();
  // Empty counts as unset, as everywhere else in the settings.
  return Object.fromEntries(
    Object.entries(config).filter(([, value]) => value !== undefined && value !== ""),
  );
}

function displayUrl(value: string): string {
  try {
    return parseRedisUrl(value).display;
  } catch {
    return REDACTED;
  }
}

/** Reads a dotenv file into a record (for `validate --env-file` and drift checks). */
export function readEnvFile(path: string): Record<string, string> {
  return parseDotenv(readFileSync(path, "utf8"));
}
