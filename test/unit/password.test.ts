import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ENVIRONMENTS,
  PASSWORD_ALPHABET,
  TIERS,
  generatePassword,
  missingClasses,
  passwordLength,
  passwordStrength,
  type PasswordPolicy,
} from "../../lib/index.js";
import { PASSWORD_CHARACTERS } from "../../lib/config/password.js";

describe("generatePassword", () => {
  it.each(ENVIRONMENTS)("%s: the tier's length, prefix, alphabet and every required class", (environment) => {
    const policy = TIERS[environment].password;
    for (let i = 0; i < 200; i++) {
      const password = generatePassword(policy);
      expect(password).toHaveLength(passwordLength(policy));
      expect(password.startsWith(policy.prefix)).toBe(true);
      expect(password.slice(policy.prefix.length)).toMatch(/^[A-Za-z0-9\-._~]+$/);
      expect(missingClasses(password, policy)).toEqual([]);
      // URL-safe: it stands in a rediss:// URL unescaped.
      expect(encodeURIComponent(password)).toBe(password);
      expect(new URL(`rediss://app:${password}@h:6379`).password).toBe(password);
    }
  });

  it("production passwords are at least 32 characters", () => {
    expect(generatePassword(TIERS.production.password).length).toBeGreaterThanOrEqual(32);
  });

  it("draws characters uniformly: no modulo bias (chi-square over 264 000 characters)", () => {
    const policy: PasswordPolicy = { randomLength: 64, requiredClasses: [], prefix: "", minGuessesLog10: 0 };
    const counts = new Map<string, number>();
    const draws = 4_125;
    for (let i = 0; i < draws; i++)
      for (const char of generatePassword(policy)) counts.set(char, (counts.get(char) ?? 0) + 1);
    const total = draws * policy.randomLength;
    const expected = total / PASSWORD_CHARACTERS.length;
    let chiSquare = 0;
    for (const char of PASSWORD_CHARACTERS) chiSquare += ((counts.get(char) ?? 0) - expected) ** 2 / expected;
    // 65 degrees of freedom: p = 1e-6 at about 131. A modulo-256 bias over 66 symbols gives ~ 2 000 here.
    expect(chiSquare).toBeLessThan(131);
    expect(counts.size).toBe(PASSWORD_CHARACTERS.length);
  });

  it("redraws the whole password when a class is missing, instead of forcing one in", () => {
    const policy: PasswordPolicy = {
      randomLength: 4,
      requiredClasses: ["digit"],
      prefix: "",
      minGuessesLog10: 0,
    };
    const digit = PASSWORD_CHARACTERS.indexOf("7");
    // First draw: "aaaa" (no digit, thrown away); second draw: "a7aa".
    const script = [0, 0, 0, 0, 0, digit, 0, 0];
    const password = generatePassword(policy, () => script.shift() ?? 0);
    expect(password).toBe("a7aa");
    expect(() => generatePassword(policy, () => 0)).toThrow(/random source is broken/);
  });

  it("the alphabet is the tier table's, with every class", () => {
    expect(PASSWORD_CHARACTERS).toBe(Object.values(PASSWORD_ALPHABET).join(""));
    fc.assert(
      fc.property(fc.constantFrom(...ENVIRONMENTS), (environment) => {
        const password = generatePassword(TIERS[environment].password);
        return [...password].every(
          (char) => PASSWORD_CHARACTERS.includes(char) || TIERS[environment].password.prefix.includes(char),
        );
      }),
      { numRuns: 100 },
    );
  });
});

describe("passwordStrength", () => {
  it("is deterministic and ranks patterns below random passwords", () => {
    expect(passwordStrength("password")).toEqual(passwordStrength("password"));
    expect(passwordStrength("password").guessesLog10).toBeLessThan(3);
    expect(passwordStrength("a".repeat(32)).guessesLog10).toBeLessThan(
      TIERS.production.password.minGuessesLog10,
    );
    expect(passwordStrength(generatePassword(TIERS.production.password)).guessesLog10).toBeGreaterThan(
      TIERS.production.password.minGuessesLog10,
    );
  });

  it.each(ENVIRONMENTS)("%s: generated passwords clear the tier's strength bar", (environment) => {
    const policy = TIERS[environment].password;
    for (let i = 0; i < 50; i++) {
      expect(passwordStrength(generatePassword(policy)).guessesLog10).toBeGreaterThanOrEqual(
        policy.minGuessesLog10,
      );
    }
  });
});
