import { describe, expect, it } from "vitest";
import {
  ENVIRONMENTS,
  MIN_DETECTION_CONFIDENCE,
  PASSWORD_ALPHABET,
  TIERS,
  isEnvironment,
  passwordLength,
  tierFor,
} from "../../lib/index.js";

describe("tier table", () => {
  it("covers exactly the four environments, each naming itself", () => {
    expect(Object.keys(TIERS).sort()).toEqual([...ENVIRONMENTS].sort());
    for (const env of ENVIRONMENTS) expect(TIERS[env].environment).toBe(env);
  });

  it("keeps at least the password lengths of the plan this project grew from", () => {
    expect(TIERS.production.password.randomLength).toBeGreaterThanOrEqual(32);
    expect(TIERS.staging.password.randomLength).toBeGreaterThanOrEqual(24);
    expect(TIERS.testing.password.randomLength).toBeGreaterThanOrEqual(16);
    expect(TIERS.development.password.randomLength).toBeGreaterThanOrEqual(16);
    expect(TIERS.development.password.prefix).not.toBe("");
    expect(passwordLength(TIERS.development.password)).toBe(
      TIERS.development.password.prefix.length + TIERS.development.password.randomLength,
    );
  });

  it("never gets weaker as the environment gets more serious", () => {
    const order = ["development", "testing", "staging", "production"] as const;
    for (let i = 1; i < order.length; i++) {
      const lower = TIERS[order[i - 1]!];
      const higher = TIERS[order[i]!];
      expect(higher.password.randomLength).toBeGreaterThanOrEqual(lower.password.randomLength);
      expect(higher.minValidationScore).toBeGreaterThanOrEqual(lower.minValidationScore);
      expect(Number(higher.requireTls)).toBeGreaterThanOrEqual(Number(lower.requireTls));
      expect(Number(higher.requireEncryption)).toBeGreaterThanOrEqual(Number(lower.requireEncryption));
      expect(Number(higher.requireMutualTls)).toBeGreaterThanOrEqual(Number(lower.requireMutualTls));
      expect(higher.password.requiredClasses.length).toBeGreaterThanOrEqual(
        lower.password.requiredClasses.length,
      );
    }
  });

  it("requires TLS and encryption where the design says so", () => {
    expect(TIERS.development.requireTls).toBe(false);
    for (const env of ["testing", "staging", "production"] as const) expect(TIERS[env].requireTls).toBe(true);
    expect(TIERS.staging.requireEncryption && TIERS.production.requireEncryption).toBe(true);
    expect(TIERS.production.requireMutualTls).toBe(true);
  });

  it("has sane certificate windows and key retention", () => {
    for (const env of ENVIRONMENTS) {
      const { certificate, retainedEncryptionKeys } = TIERS[env];
      expect(certificate.renewBeforeDays).toBeGreaterThan(0);
      expect(certificate.renewBeforeDays).toBeLessThan(certificate.validityDays);
      expect(retainedEncryptionKeys).toBeGreaterThanOrEqual(1);
    }
  });

  it("uses only URL-unreserved password characters", () => {
    const all = Object.values(PASSWORD_ALPHABET).join("");
    expect(all).toMatch(/^[A-Za-z0-9\-._~]+$/);
    expect(new Set(all).size).toBe(all.length);
    for (const env of ENVIRONMENTS) expect(TIERS[env].password.prefix).toMatch(/^[A-Za-z0-9\-._~]*$/);
  });

  it("treats an unknown environment as production", () => {
    expect(tierFor("preprod-eu")).toBe(TIERS.production);
    expect(tierFor(undefined)).toBe(TIERS.production);
    expect(tierFor("staging")).toBe(TIERS.staging);
    expect(isEnvironment("testing")).toBe(true);
    expect(isEnvironment("prod")).toBe(false);
    expect(MIN_DETECTION_CONFIDENCE).toBeGreaterThan(0.5);
    expect(MIN_DETECTION_CONFIDENCE).toBeLessThanOrEqual(1);
  });
});
