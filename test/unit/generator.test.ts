import dotenv from "dotenv";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import {
  ACL_USERS,
  ConfigFileExistsError,
  ENVIRONMENTS,
  Fernet,
  KeyRing,
  SecureConfigGenerator,
  TIERS,
  compareConfigs,
  loadSettings,
  missingClasses,
  passwordLength,
  validateSecurityConfig,
} from "../../lib/index.js";
import type { SecureConfig } from "../../lib/index.js";
import { assertNoSecret } from "../helpers/canary.js";

const dir = mkdtempSync(join(tmpdir(), "generator-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const generator = new SecureConfigGenerator();

/** Every secret value of a generated configuration (canaries). */
function secretsOf(config: SecureConfig): string[] {
  return [
    ...ACL_USERS.map((user) => config.users[user].password.reveal()),
    ...config.encryptionKeys.map((key) => key.reveal()),
    config.cacheKeySecret.reveal(),
  ];
}

describe("SecureConfigGenerator.generate", () => {
  it.each(ENVIRONMENTS)(
    "%s: one distinct password per ACL user at the tier's length and classes",
    (environment) => {
      const policy = TIERS[environment];
      const config = generator.generate({ environment });
      expect(config.environment).toBe(environment);
      expect(config.detectionConfidence).toBe(1);
      expect(Date.parse(config.generatedAt)).toBeGreaterThan(Date.now() - 60_000);
      const passwords = ACL_USERS.map((user) => config.users[user].password.reveal());
      expect(new Set(passwords).size).toBe(3);
      for (const password of passwords) {
        expect(password).toHaveLength(passwordLength(policy.password));
        expect(missingClasses(password, policy.password)).toEqual([]);
      }
      expect(ACL_USERS.map((user) => config.users[user].username)).toEqual(["app", "admin", "healthcheck"]);
      expect(config.tls).toEqual({ required: policy.requireTls, mutual: policy.requireMutualTls });
      expect(config.encryption.enabled).toBe(policy.requireEncryption);
      expect(new KeyRing(config.encryptionKeys.map((key) => key.reveal())).size).toBe(1);
      expect(config.cacheKeySecret.length).toBeGreaterThanOrEqual(32);
      expect(config.url).toBe(policy.requireTls ? "rediss://localhost:6379" : "redis://localhost:6379");
    },
  );

  it.each(ENVIRONMENTS)("%s: the output passes the validator at its own tier", (environment) => {
    const config = generator.generate({ environment });
    const result = validateSecurityConfig(config, { environment });
    expect(result.passed).toBe(true);
    expect(result.score).toBeGreaterThanOrEqual(TIERS[environment].minValidationScore);
    expect(result.findings.filter((finding) => ["critical", "high"].includes(finding.severity))).toEqual([]);
    // The same through its dotenv form, as `secure-redis validate --env-file` sees it.
    expect(validateSecurityConfig(dotenv.parse(config.toEnv()), { environment }).score).toBe(result.score);
  });

  it("production passwords are at least 32 characters", () => {
    const config = generator.generate({ environment: "production" });
    for (const user of ACL_USERS) expect(config.users[user].password.length).toBeGreaterThanOrEqual(32);
  });

  it("the settings loader accepts what the generator writes (production once a client certificate is added)", () => {
    for (const environment of ["development", "testing", "staging"] as const) {
      expect(loadSettings(generator.generate({ environment }).toEnvRecord()).environment).toBe(environment);
    }
  });

  it("detects the environment when none is given, recording the confidence", () => {
    expect(generator.generate({ env: { APP_ENV: "preprod" } })).toMatchObject({
      environment: "staging",
      detectionConfidence: 0.95,
    });
    const unknown = generator.generate({ env: {} });
    expect(unknown.environment).toBe("production");
    expect(unknown.detectionConfidence).toBe(0);
  });
});

describe("SecureConfig.toEnv", () => {
  it.each(ENVIRONMENTS)("%s: round-trips through dotenv (both parsers)", (environment) => {
    const config = generator.generate({ environment });
    const text = config.toEnv();
    expect(dotenv.parse(text)).toEqual(config.toEnvRecord());
    expect(dotenv.parse(text, { fast: true })).toEqual(config.toEnvRecord());
    expect(compareConfigs(config, dotenv.parse(text)).identical).toBe(true);
  });

  it("redacts every secret on request, and in JSON and inspect output by default", () => {
    const config = generator.generate({ environment: "production" });
    const secrets = secretsOf(config);
    const redacted = config.toEnv({ redact: true });
    assertNoSecret(redacted, secrets);
    expect(dotenv.parse(redacted).REDIS_PASSWORD).toBe("[redacted]");
    assertNoSecret(JSON.stringify(config), secrets);
    assertNoSecret(inspect(config, { depth: 10 }), secrets);
    expect(JSON.parse(JSON.stringify(config))).toMatchObject({
      users: { app: { username: "app", password: "[redacted] (32 characters)" } },
      encryptionKeys: [`[redacted] (key id ${new Fernet(config.encryptionKeys[0]!.reveal()).keyId})`],
    });
    expect(config.toEnv()).toContain(config.users.app.password.reveal());
  });
});

describe("SecureConfigGenerator.save", () => {
  const mode = (path: string): number => statSync(path).mode & 0o777;

  it("writes mode 0600 and refuses to overwrite without force", () => {
    const path = join(dir, "new.env");
    const config = generator.generate({ environment: "staging" });
    const result = generator.save(config, path);
    expect(result).toMatchObject({ path, written: true, backupPath: undefined });
    expect(mode(path)).toBe(0o600);
    expect(dotenv.parse(readFileSync(path, "utf8"))).toEqual(config.toEnvRecord());
    assertNoSecret(result.text, secretsOf(config));
    expect(() => generator.save(generator.generate({ environment: "staging" }), path)).toThrow(
      ConfigFileExistsError,
    );
    expect(dotenv.parse(readFileSync(path, "utf8"))).toEqual(config.toEnvRecord());
  });

  it("with force, backs the old file up first (0600, same content), then replaces it", () => {
    const path = join(dir, "forced.env");
    writeFileSync(path, "OLD='content'\n", { mode: 0o644 });
    const fixed = new SecureConfigGenerator({ now: () => new Date("2030-01-02T03:04:05.678Z") });
    const config = fixed.generate({ environment: "testing" });
    const result = fixed.save(config, path, { force: true });
    expect(result.backupPath).toBe(`${path}.bak-2030-01-02T03-04-05-678Z`);
    expect(readFileSync(result.backupPath!, "utf8")).toBe("OLD='content'\n");
    expect(mode(result.backupPath!)).toBe(0o600);
    expect(mode(path)).toBe(0o600);
    expect(dotenv.parse(readFileSync(path, "utf8"))).toEqual(config.toEnvRecord());
    // No temp file left behind.
    expect(readdirSync(dir).filter((name) => name.includes(".tmp-"))).toEqual([]);
  });

  it("dry run writes nothing and returns the redacted text", () => {
    const path = join(dir, "dry.env");
    const config = generator.generate({ environment: "production" });
    const result = generator.save(config, path, { dryRun: true });
    expect(result.written).toBe(false);
    expect(existsSync(path)).toBe(false);
    assertNoSecret(result.text, secretsOf(config));
    expect(result.text).toContain("REDIS_PASSWORD='[redacted]'");
  });
});

describe("compareConfigs (drift)", () => {
  it("reports which settings differ without showing secret values", () => {
    const a = generator.generate({ environment: "production" });
    const b = generator.generate({ environment: "production", host: "redis.internal" });
    const report = generator.compare(a, b);
    expect(report.identical).toBe(false);
    expect(report.differences.map((difference) => difference.setting)).toEqual([
      "REDIS_ADMIN_PASSWORD",
      "REDIS_CACHE_KEY_SECRET",
      "REDIS_ENCRYPTION_KEYS",
      "REDIS_HEALTHCHECK_PASSWORD",
      "REDIS_PASSWORD",
      "REDIS_URL",
    ]);
    expect(report.differences.find((difference) => difference.setting === "REDIS_PASSWORD")).toEqual({
      setting: "REDIS_PASSWORD",
      change: "changed",
      secret: true,
    });
    expect(report.differences.find((difference) => difference.setting === "REDIS_URL")).toMatchObject({
      before: "rediss://localhost:6379",
      after: "rediss://redis.internal:6379",
    });
    assertNoSecret(JSON.stringify(report), [...secretsOf(a), ...secretsOf(b)]);
  });

  it("sees added, removed and changed plain settings, ignores generation metadata, hides passwords in URLs", () => {
    const a = {
      SECURE_REDIS_ENV: "staging",
      REDIS_TLS_MUTUAL: "false",
      SECURE_REDIS_GENERATED_AT: "x",
      REDIS_URL: "rediss://u:s3cret-pw-value@h:1",
    };
    const b = {
      SECURE_REDIS_ENV: "production",
      REDIS_TLS_CA_FILE: "/ca.pem",
      SECURE_REDIS_GENERATED_AT: "y",
      REDIS_URL: "rediss://u:other-pw-value@h:1",
    };
    const report = compareConfigs(a, b);
    expect(report.differences).toEqual([
      { setting: "REDIS_TLS_CA_FILE", change: "added", secret: false, after: "/ca.pem" },
      { setting: "REDIS_TLS_MUTUAL", change: "removed", secret: false, before: "false" },
      {
        setting: "REDIS_URL",
        change: "changed",
        secret: true,
        before: "rediss://u:[redacted]@h:1",
        after: "rediss://u:[redacted]@h:1",
      },
      {
        setting: "SECURE_REDIS_ENV",
        change: "changed",
        secret: false,
        before: "staging",
        after: "production",
      },
    ]);
    assertNoSecret(JSON.stringify(report), ["s3cret-pw-value", "other-pw-value"]);
    expect(compareConfigs(a, { ...a, SECURE_REDIS_GENERATED_AT: "z" }).identical).toBe(true);
  });
});
