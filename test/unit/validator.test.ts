import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  Fernet,
  SecureConfigGenerator,
  SEVERITY_PENALTY,
  TIERS,
  scoreFindings,
  validateSecurityConfig,
  type Finding,
} from "../../lib/index.js";
import { assertNoSecret } from "../helpers/canary.js";

const dir = mkdtempSync(join(tmpdir(), "validator-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const generator = new SecureConfigGenerator();
/** A generated staging configuration as variables: the baseline that passes with no finding. */
function stagingEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { ...generator.generate({ environment: "staging" }).toEnvRecord(), ...overrides };
}
const ids = (findings: Finding[]): string[] => findings.map((finding) => finding.id);

describe("validateSecurityConfig", () => {
  it("passes a generated configuration with a perfect score", () => {
    const result = validateSecurityConfig(stagingEnv(), { environment: "staging" });
    expect(result).toMatchObject({
      environment: "staging",
      score: 100,
      minScore: TIERS.staging.minValidationScore,
      passed: true,
      findings: [],
    });
  });

  type Case = [
    description: string,
    env: Record<string, string | undefined>,
    id: string,
    severity: Finding["severity"],
    environment?: "development" | "staging" | "production",
  ];
  const weak = "password".repeat(4);
  const CASES: Case[] = [
    [
      "plaintext URL outside development",
      stagingEnv({ REDIS_URL: "redis://redis:6379" }),
      "tls.plaintext-url",
      "critical",
    ],
    ["missing URL", stagingEnv({ REDIS_URL: undefined }), "url.missing", "critical"],
    ["malformed URL", stagingEnv({ REDIS_URL: "not a url" }), "url.invalid", "critical"],
    [
      "password in the URL",
      stagingEnv({ REDIS_URL: "rediss://app:Xx1-long-enough-password-here@h:6379" }),
      "url.password-in-url",
      "medium",
    ],
    [
      "verification off",
      stagingEnv({ REDIS_TLS_REJECT_UNAUTHORIZED: "false" }),
      "tls.verification-disabled",
      "critical",
    ],
    [
      "mutual TLS off in production",
      stagingEnv({ REDIS_TLS_MUTUAL: "false" }),
      "tls.mutual-disabled",
      "high",
      "production",
    ],
    [
      "half a client certificate",
      stagingEnv({ REDIS_TLS_CERT_FILE: "/c.pem" }),
      "tls.client-certificate-incomplete",
      "high",
    ],
    [
      "TLS options on a plaintext URL",
      { REDIS_TLS_SERVERNAME: "x" },
      "tls.options-without-tls",
      "medium",
      "development",
    ],
    ["short password", stagingEnv({ REDIS_PASSWORD: "Aa1-short" }), "password.too-short", "high"],
    [
      "missing character classes",
      stagingEnv({ REDIS_PASSWORD: "a".repeat(10) + "b".repeat(10) + "c".repeat(10) }),
      "password.missing-classes",
      "medium",
    ],
    ["patterned password", stagingEnv({ REDIS_PASSWORD: weak }), "password.weak", "high"],
    ["missing password", stagingEnv({ REDIS_PASSWORD: undefined }), "password.missing", "critical"],
    ["default user", stagingEnv({ REDIS_USERNAME: "default" }), "username.default", "high"],
    [
      "one password for several users",
      (() => {
        const env = stagingEnv();
        return { ...env, REDIS_ADMIN_PASSWORD: env.REDIS_PASSWORD };
      })(),
      "password.reused",
      "critical",
    ],
    [
      "encryption off where required",
      stagingEnv({ REDIS_ENABLE_ENCRYPTION: "false" }),
      "encryption.disabled",
      "critical",
    ],
    [
      "encryption on without keys",
      stagingEnv({ REDIS_ENCRYPTION_KEYS: undefined }),
      "encryption.key-missing",
      "critical",
    ],
    [
      "malformed key",
      stagingEnv({ REDIS_ENCRYPTION_KEYS: "not-a-key" }),
      "encryption.key-invalid",
      "critical",
    ],
    [
      "too many keys",
      stagingEnv({ REDIS_ENCRYPTION_KEYS: Array.from({ length: 4 }, () => Fernet.generateKey()).join(",") }),
      "encryption.too-many-keys",
      "medium",
    ],
    [
      "missing cache key secret",
      stagingEnv({ REDIS_CACHE_KEY_SECRET: undefined }),
      "cache-key-secret.missing",
      "high",
    ],
    [
      "short cache key secret",
      stagingEnv({ REDIS_CACHE_KEY_SECRET: "short" }),
      "cache-key-secret.too-short",
      "high",
    ],
    [
      "cache key secret equal to an encryption key",
      (() => {
        const env = stagingEnv();
        return { ...env, REDIS_CACHE_KEY_SECRET: env.REDIS_ENCRYPTION_KEYS };
      })(),
      "cache-key-secret.reused",
      "high",
    ],
    ["malformed boolean", stagingEnv({ REDIS_TLS_MUTUAL: "maybe" }), "setting.invalid", "high"],
    [
      "inline and file both set",
      stagingEnv({ REDIS_CACHE_KEY_SECRET_FILE: "/nonexistent" }),
      "setting.conflict",
      "high",
    ],
    [
      "unreadable secret file",
      stagingEnv({ REDIS_PASSWORD: undefined, REDIS_PASSWORD_FILE: "/nonexistent/pw" }),
      "secret-file.unreadable",
      "high",
    ],
  ];

  it.each(CASES)("reports %s", (_description, env, id, severity, environment = "staging") => {
    const result = validateSecurityConfig(env, { environment });
    const finding = result.findings.find((candidate) => candidate.id === id);
    expect(finding, `findings: ${ids(result.findings).join(", ")}`).toBeDefined();
    expect(finding!.severity).toBe(severity);
    expect(finding!.message.length).toBeGreaterThan(10);
    expect(finding!.remediation.length).toBeGreaterThan(10);
    expect(result.score).toBe(scoreFindings(result.findings));
    if (severity === "critical") expect(result.passed).toBe(false);
    // Findings never carry secret values.
    const secrets = [
      "REDIS_PASSWORD",
      "REDIS_ADMIN_PASSWORD",
      "REDIS_HEALTHCHECK_PASSWORD",
      "REDIS_ENCRYPTION_KEYS",
      "REDIS_CACHE_KEY_SECRET",
    ]
      .map((name) => env[name])
      .filter((value): value is string => value !== undefined && value.length >= 8);
    assertNoSecret(JSON.stringify(result), secrets);
  });

  it("checks secret file permissions: high where the tier refuses them (failing production), medium elsewhere", () => {
    const path = join(dir, "password");
    const password = generator.generate({ environment: "staging" }).users.app.password.reveal();
    writeFileSync(path, `${password}\n`);
    chmodSync(path, 0o640);
    const env = stagingEnv({ REDIS_PASSWORD: undefined, REDIS_PASSWORD_FILE: path });
    const staging = validateSecurityConfig(env, { environment: "staging" });
    expect(staging.findings).toEqual([
      expect.objectContaining({ id: "secret-file.permissions", severity: "high" }),
    ]);
    expect(staging.findings[0]!.message).toContain("mode 640");
    // Staging's bar (80) tolerates one high finding; production's (90) does not.
    expect(staging).toMatchObject({ score: 80, passed: true });
    const production = validateSecurityConfig(
      { ...env, REDIS_TLS_MUTUAL: undefined },
      { environment: "production" },
    );
    expect(production.passed).toBe(false);
    const development = validateSecurityConfig(
      { ...env, SECURE_REDIS_ENV: "development", REDIS_URL: "redis://127.0.0.1:6379" },
      { environment: "development" },
    );
    expect(development.findings.find((finding) => finding.id === "secret-file.permissions")?.severity).toBe(
      "medium",
    );
    chmodSync(path, 0o600);
    expect(validateSecurityConfig(env, { environment: "staging" }).findings).toEqual([]);
  });

  it("detects the tier from the configuration; unknown means production, reported", () => {
    const env = stagingEnv();
    expect(validateSecurityConfig(env).environment).toBe("staging");
    const unknown = validateSecurityConfig({ ...env, SECURE_REDIS_ENV: undefined });
    expect(unknown.environment).toBe("production");
    expect(ids(unknown.findings)).toContain("environment.unknown");
    expect(unknown.detection?.summary).toMatch(/^unknown, treated as production/);
  });

  it("scores by the documented formula, after all checks, and passes only above the tier minimum without a critical", () => {
    const findings: Finding[] = [
      { id: "a", severity: "high", message: "m", remediation: "r" },
      { id: "b", severity: "medium", message: "m", remediation: "r" },
      { id: "c", severity: "low", message: "m", remediation: "r" },
      { id: "d", severity: "info", message: "m", remediation: "r" },
    ];
    expect(scoreFindings(findings)).toBe(
      100 - SEVERITY_PENALTY.high - SEVERITY_PENALTY.medium - SEVERITY_PENALTY.low,
    );
    expect(scoreFindings(Array.from({ length: 5 }, () => findings[0]!))).toBe(0);
    // One high finding fails production (minimum 90) but not testing (60).
    const highOnly = stagingEnv({ REDIS_USERNAME: "default" });
    expect(
      validateSecurityConfig({ ...highOnly, REDIS_TLS_MUTUAL: undefined }, { environment: "production" })
        .passed,
    ).toBe(false);
    expect(
      validateSecurityConfig({ ...highOnly, REDIS_ENABLE_ENCRYPTION: "false" }, { environment: "testing" }),
    ).toMatchObject({ score: 80, passed: true });
  });

  it("is deterministic: the same input gives the same result, whatever the order of the variables", () => {
    const env = stagingEnv({
      REDIS_PASSWORD: "password".repeat(4),
      REDIS_URL: "redis://x:1",
      REDIS_TLS_MUTUAL: "maybe",
    });
    const first = validateSecurityConfig(env, { environment: "production", now: 0 });
    fc.assert(
      fc.property(
        fc.shuffledSubarray(Object.entries(env), { minLength: Object.keys(env).length }),
        (entries) => {
          const again = validateSecurityConfig(Object.fromEntries(entries), {
            environment: "production",
            now: 0,
          });
          expect(again).toEqual(first);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("never throws on bad input", () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom(
            "REDIS_URL",
            "REDIS_PASSWORD",
            "REDIS_ENCRYPTION_KEYS",
            "REDIS_TLS_MUTUAL",
            "SECURE_REDIS_ENV",
            "REDIS_CACHE_KEY_SECRET",
          ),
          fc.string(),
        ),
        (env) => {
          const result = validateSecurityConfig(env);
          expect(result.score).toBeGreaterThanOrEqual(0);
          expect(result.score).toBeLessThanOrEqual(100);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("canary: no secret in any finding, even for a configuration that fails every check", () => {
    const password = `P-${randomBytes(12).toString("hex")}`;
    const env = {
      SECURE_REDIS_ENV: "production",
      REDIS_URL: `redis://app:${password}@h:6379`,
      REDIS_PASSWORD: password,
      REDIS_ADMIN_PASSWORD: password,
      REDIS_ENCRYPTION_KEYS: `${password},zz`,
      REDIS_CACHE_KEY_SECRET: password,
    };
    const result = validateSecurityConfig(env);
    expect(result.passed).toBe(false);
    assertNoSecret(JSON.stringify(result), [password]);
  });
});
