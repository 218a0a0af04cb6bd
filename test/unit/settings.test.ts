import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigurationError, Fernet, loadSettings, TIERS } from "../../lib/index.js";
import { assertNoSecret, expectThrowsWithoutSecrets, visibleText } from "../helpers/canary.js";

const dir = mkdtempSync(join(tmpdir(), "settings-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PASSWORD = `Pw-${randomBytes(24).toString("base64url")}`; // 35 characters, every class
const KEY = Fernet.generateKey();
const CACHE_SECRET = randomBytes(32).toString("base64url");
const SECRETS = [PASSWORD, KEY, CACHE_SECRET];

function secretFile(name: string, content: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  return path;
}

/** Client certificate variables pointing at placeholder files (settings read them; the client parses them). */
function clientCert(): Record<string, string> {
  return {
    REDIS_TLS_CERT_FILE: secretFile("client.crt", "-----BEGIN CERTIFICATE-----\n", 0o644),
    REDIS_TLS_KEY_FILE: secretFile("client.key", "-----BEGIN PRIVATE KEY-----\n"),
  };
}

/** A complete staging configuration (TLS, auth, encryption; no mutual TLS). */
function staging(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return {
    SECURE_REDIS_ENV: "staging",
    REDIS_URL: "rediss://redis.internal:6380/0",
    REDIS_USERNAME: "app",
    REDIS_PASSWORD: PASSWORD,
    REDIS_ENCRYPTION_KEYS: KEY,
    REDIS_CACHE_KEY_SECRET: CACHE_SECRET,
    ...overrides,
  };
}

describe("loadSettings", () => {
  it("reads a complete staging configuration", () => {
    const settings = loadSettings(staging());
    expect(settings.environment).toBe("staging");
    expect(settings.policy).toBe(TIERS.staging);
    expect(settings.redis).toMatchObject({
      host: "redis.internal",
      port: 6380,
      db: 0,
      tls: true,
      username: "app",
    });
    expect(settings.redis.password?.reveal()).toBe(PASSWORD);
    expect(settings.redis.passwordSource).toBe("REDIS_PASSWORD");
    expect(settings.encryption.enabled).toBe(true);
    expect(settings.encryption.keyRing?.primaryKeyId).toBe(new Fernet(KEY).keyId);
    expect(settings.cacheKeySecret?.reveal()).toBe(CACHE_SECRET);
    expect(settings.tls).toMatchObject({ rejectUnauthorized: true, mutual: false });
    expect(settings.timeouts).toEqual({ connectMs: 10_000, commandMs: 5_000 });
  });

  it("never shows a secret when printed, inspected or serialised", () => {
    const settings = loadSettings(staging());
    assertNoSecret(inspect(settings, { depth: 10 }), SECRETS);
    assertNoSecret(JSON.stringify(settings), SECRETS);
    assertNoSecret(String(settings.redis.password), SECRETS);
    assertNoSecret(`${settings.cacheKeySecret?.toString()}`, SECRETS);
  });

  it("applies per-tier defaults: development needs nothing, encryption defaults on in staging and production", () => {
    const dev = loadSettings({ SECURE_REDIS_ENV: "development" });
    expect(dev.redis).toMatchObject({
      host: "127.0.0.1",
      port: 6379,
      tls: false,
      url: "redis://127.0.0.1:6379",
    });
    expect(dev.encryption.enabled).toBe(false);
    expect(dev.tls.mutual).toBe(false);
    expect(loadSettings(staging()).encryption.enabled).toBe(true);
    expect(
      loadSettings({ ...staging(), SECURE_REDIS_ENV: "testing", REDIS_ENCRYPTION_KEYS: undefined }).encryption
        .enabled,
    ).toBe(false);
    expect(
      loadSettings({
        SECURE_REDIS_ENV: "development",
        REDIS_ENABLE_ENCRYPTION: "true",
        REDIS_ENCRYPTION_KEYS: KEY,
      }).encryption.enabled,
    ).toBe(true);
  });

  it("treats an unknown environment as production", () => {
    const error = expectThrowsWithoutSecrets(
      () => loadSettings({ ...staging(), SECURE_REDIS_ENV: undefined }),
      SECRETS,
    );
    // Production wants mutual TLS: the unknown environment got production's policy.
    expect(error.message).toMatch(
      /^REDIS_TLS_CERT_FILE: mutual TLS is on \(production \(environment unknown\) requires it\)/,
    );
  });

  it("reads _FILE variants, stripping exactly one trailing newline", () => {
    const settings = loadSettings(
      staging({
        REDIS_PASSWORD: undefined,
        REDIS_PASSWORD_FILE: secretFile("password", `${PASSWORD}\n`),
        REDIS_ENCRYPTION_KEYS: undefined,
        REDIS_ENCRYPTION_KEYS_FILE: secretFile("keys", `${KEY}\n`),
        REDIS_CACHE_KEY_SECRET: undefined,
        REDIS_CACHE_KEY_SECRET_FILE: secretFile("cache", `${CACHE_SECRET}\r\n`),
      }),
    );
    expect(settings.redis.password?.reveal()).toBe(PASSWORD);
    expect(settings.redis.passwordSource).toBe("REDIS_PASSWORD_FILE");
    expect(settings.cacheKeySecret?.reveal()).toBe(CACHE_SECRET);
    expect(settings.encryption.keyRing?.size).toBe(1);
    const twoNewlines = loadSettings({
      SECURE_REDIS_ENV: "development",
      REDIS_PASSWORD_FILE: secretFile("p2", "dev-pw\n\n"),
    });
    expect(twoNewlines.redis.password?.reveal()).toBe("dev-pw\n");
  });

  it("refuses a group- or world-readable secret file in production and staging, not in development", () => {
    const open = secretFile("open-password", `${PASSWORD}\n`, 0o644);
    for (const env of ["staging", "production"]) {
      const error = expectThrowsWithoutSecrets(
        () =>
          loadSettings(
            staging({ SECURE_REDIS_ENV: env, REDIS_PASSWORD: undefined, REDIS_PASSWORD_FILE: open }),
          ),
        SECRETS,
      );
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error.message).toBe(
        `REDIS_PASSWORD_FILE: the secret file ${open} is readable by group or others (mode 644); run: chmod 600 ${open}`,
      );
    }
    expect(
      loadSettings({ SECURE_REDIS_ENV: "development", REDIS_PASSWORD_FILE: open }).redis.password?.reveal(),
    ).toBe(PASSWORD);
  });

  type Case = [description: string, env: NodeJS.ProcessEnv, setting: string, message: RegExp];
  const REFUSALS: Case[] = [
    [
      "plaintext URL in staging",
      staging({ REDIS_URL: `redis://app:${PASSWORD}@redis.internal:6379` }),
      "REDIS_URL",
      /uses plaintext redis:\/\/ but staging requires TLS; use rediss:\/\/redis\.internal:6379/,
    ],
    [
      "plaintext URL in production",
      { SECURE_REDIS_ENV: "production", REDIS_URL: "redis://10.0.0.5:6379" },
      "REDIS_URL",
      /production requires TLS; use rediss:\/\/10\.0\.0\.5:6379/,
    ],
    [
      "missing URL outside development",
      staging({ REDIS_URL: undefined }),
      "REDIS_URL",
      /is required in staging; set it to rediss:\/\/host:6379/,
    ],
    ["not a URL", staging({ REDIS_URL: `${PASSWORD}` }), "REDIS_URL", /is not a valid URL/],
    ["wrong scheme", staging({ REDIS_URL: `https://user:${PASSWORD}@host` }), "REDIS_URL", /scheme "https:"/],
    ["query options", staging({ REDIS_URL: "rediss://host:6379/?tls=false" }), "REDIS_URL", /query string/],
    [
      "verification disabled",
      staging({ REDIS_TLS_REJECT_UNAUTHORIZED: "false" }),
      "REDIS_TLS_REJECT_UNAUTHORIZED",
      /is false, but staging requires verified TLS/,
    ],
    [
      "not a boolean",
      staging({ REDIS_TLS_REJECT_UNAUTHORIZED: "nope" }),
      "REDIS_TLS_REJECT_UNAUTHORIZED",
      /must be true or false/,
    ],
    [
      "mutual TLS off in production",
      staging({ SECURE_REDIS_ENV: "production", REDIS_TLS_MUTUAL: "false" }),
      "REDIS_TLS_MUTUAL",
      /production requires mutual TLS/,
    ],
    [
      "mutual TLS without a certificate",
      staging({ SECURE_REDIS_ENV: "production" }),
      "REDIS_TLS_CERT_FILE",
      /set REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE/,
    ],
    [
      "client key without certificate",
      staging({ REDIS_TLS_KEY_FILE: "/k.pem" }),
      "REDIS_TLS_CERT_FILE",
      /needs both/,
    ],
    [
      "TLS options with a plaintext URL",
      { SECURE_REDIS_ENV: "development", REDIS_TLS_CA_FILE: "/ca.pem" },
      "REDIS_TLS_CA_FILE",
      /REDIS_URL is plaintext/,
    ],
    [
      "missing user name",
      staging({ REDIS_USERNAME: undefined }),
      "REDIS_USERNAME",
      /requires a named ACL user/,
    ],
    [
      "the default user",
      staging({ REDIS_USERNAME: "default" }),
      "REDIS_USERNAME",
      /requires a named ACL user/,
    ],
    ["bad user name", staging({ REDIS_USERNAME: "app user" }), "REDIS_USERNAME", /must be an ACL user name/],
    [
      "missing password",
      staging({ REDIS_PASSWORD: undefined }),
      "REDIS_PASSWORD",
      /staging requires a password/,
    ],
    [
      "short password",
      staging({ REDIS_PASSWORD: "Short-1a" }),
      "REDIS_PASSWORD",
      /has 8 characters, staging requires at least 24/,
    ],
    [
      "password inline and as a file",
      staging({ REDIS_PASSWORD_FILE: "/run/secrets/pw" }),
      "REDIS_PASSWORD",
      /both REDIS_PASSWORD and REDIS_PASSWORD_FILE are set/,
    ],
    [
      "password in the URL and in a variable",
      staging({ REDIS_URL: `rediss://app:${encodeURIComponent(PASSWORD)}@h:6379` }),
      "REDIS_PASSWORD",
      /REDIS_URL carries a password too/,
    ],
    [
      "user name disagrees with the URL",
      staging({ REDIS_URL: "rediss://other@h:6379" }),
      "REDIS_USERNAME",
      /disagrees with the user name in REDIS_URL/,
    ],
    [
      "unreadable password file",
      staging({ REDIS_PASSWORD: undefined, REDIS_PASSWORD_FILE: "/nonexistent/pw" }),
      "REDIS_PASSWORD_FILE",
      /cannot read the secret file \/nonexistent\/pw \(ENOENT\)/,
    ],
    [
      "encryption off in production",
      staging({ SECURE_REDIS_ENV: "production", ...clientCert(), REDIS_ENABLE_ENCRYPTION: "false" }),
      "REDIS_ENABLE_ENCRYPTION",
      /production requires encrypted values/,
    ],
    [
      "encryption on without a key",
      staging({ REDIS_ENCRYPTION_KEYS: undefined }),
      "REDIS_ENCRYPTION_KEYS",
      /no key is set; generate one with `secure-redis gen-key`/,
    ],
    [
      "a malformed key",
      staging({ REDIS_ENCRYPTION_KEYS: `${KEY},${PASSWORD}` }),
      "REDIS_ENCRYPTION_KEYS",
      /key 2 of 2/,
    ],
    [
      "too many keys",
      staging({
        REDIS_ENCRYPTION_KEYS: [KEY, Fernet.generateKey(), Fernet.generateKey(), Fernet.generateKey()].join(
          ",",
        ),
      }),
      "REDIS_ENCRYPTION_KEYS",
      /holds 4 keys; staging keeps at most 3/,
    ],
    [
      "missing cache key secret",
      staging({ REDIS_CACHE_KEY_SECRET: undefined }),
      "REDIS_CACHE_KEY_SECRET",
      /is required in staging/,
    ],
    [
      "short cache key secret",
      staging({ REDIS_CACHE_KEY_SECRET: "abc" }),
      "REDIS_CACHE_KEY_SECRET",
      /must be at least 32 bytes, got 3/,
    ],
    [
      "unknown explicit environment",
      staging({ SECURE_REDIS_ENV: "prodution" }),
      "SECURE_REDIS_ENV",
      /"prodution" names no environment; use one of development, testing, staging, production/,
    ],
    [
      "timeout out of range",
      staging({ REDIS_CONNECT_TIMEOUT_MS: "5" }),
      "REDIS_CONNECT_TIMEOUT_MS",
      /at least 100/,
    ],
  ];

  it.each(REFUSALS)(
    "refuses %s, naming the variable and the fix, without any secret",
    (_d, env, setting, message) => {
      const error = expectThrowsWithoutSecrets(() => loadSettings(env), SECRETS);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).setting).toBe(setting);
      expect(error.message.startsWith(`${setting}: `)).toBe(true);
      expect(error.message).toMatch(message);
      assertNoSecret(visibleText(error), SECRETS);
    },
  );

  it("reads a complete production configuration with the client certificate", () => {
    const settings = loadSettings(staging({ SECURE_REDIS_ENV: "production", ...clientCert() }));
    expect(settings.environment).toBe("production");
    expect(settings.tls.mutual).toBe(true);
    expect(settings.tls.cert).toMatch(/BEGIN CERTIFICATE/);
    expect(settings.tls.key?.reveal()).toMatch(/BEGIN PRIVATE KEY/);
    assertNoSecret(inspect(settings, { depth: 10 }), ["-----BEGIN PRIVATE KEY-----"]);
  });

  it("takes user and password from the URL when only it has them, and never shows the password", () => {
    const settings = loadSettings(
      staging({
        REDIS_USERNAME: undefined,
        REDIS_PASSWORD: undefined,
        REDIS_URL: `rediss://app:${encodeURIComponent(PASSWORD)}@h:6379`,
      }),
    );
    expect(settings.redis.username).toBe("app");
    expect(settings.redis.password?.reveal()).toBe(PASSWORD);
    expect(settings.redis.passwordSource).toBe("REDIS_URL");
    expect(settings.redis.url).toBe("rediss://app:[redacted]@h:6379");
  });
});
