import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectEnvironment, MIN_DETECTION_CONFIDENCE, type Environment } from "../../lib/index.js";

type Row = [
  description: string,
  env: Record<string, string>,
  detected: Environment | "unknown",
  applied: Environment,
];

const TABLE: Row[] = [
  ["no signals at all", {}, "unknown", "production"],
  ["empty values are no signals", { APP_ENV: "", NODE_ENV: "  " }, "unknown", "production"],
  ["explicit SECURE_REDIS_ENV", { SECURE_REDIS_ENV: "staging" }, "staging", "staging"],
  [
    "explicit wins over every conflicting signal",
    { SECURE_REDIS_ENV: "development", APP_ENV: "production", NODE_ENV: "production" },
    "development",
    "development",
  ],
  ["explicit alias", { SECURE_REDIS_ENV: "prod" }, "production", "production"],
  [
    "explicit but unrecognisable is unknown, not overridden",
    { SECURE_REDIS_ENV: "prodution", APP_ENV: "development" },
    "unknown",
    "production",
  ],
  ["APP_ENV alone", { APP_ENV: "development" }, "development", "development"],
  ["ENVIRONMENT alone", { ENVIRONMENT: "testing" }, "testing", "testing"],
  ["NODE_ENV alone", { NODE_ENV: "development" }, "development", "development"],
  ["DEPLOYMENT_ENV alone", { DEPLOYMENT_ENV: "production" }, "production", "production"],
  ["preprod is staging, not production", { APP_ENV: "preprod" }, "staging", "staging"],
  ["pre-prod spelled with a dash", { ENVIRONMENT: "Pre-Prod" }, "staging", "staging"],
  [
    "agreeing signals",
    { APP_ENV: "staging", ENVIRONMENT: "stage", DEPLOYMENT_ENV: "preprod" },
    "staging",
    "staging",
  ],
  [
    "conflict: development vs production",
    { APP_ENV: "development", NODE_ENV: "production" },
    "unknown",
    "production",
  ],
  [
    "conflict: production vs development",
    { APP_ENV: "production", NODE_ENV: "development" },
    "unknown",
    "production",
  ],
  [
    "an unrecognisable signal lowers confidence",
    { APP_ENV: "sandbox", NODE_ENV: "development" },
    "unknown",
    "production",
  ],
  ["only unrecognisable signals", { APP_ENV: "sandbox" }, "unknown", "production"],
  ["case and blanks do not matter", { APP_ENV: "  DEV " }, "development", "development"],
  ["test runners' NODE_ENV=test", { NODE_ENV: "test" }, "testing", "testing"],
  [
    "unrelated variables are ignored",
    { HOME: "/root", PATH: "/bin", GIT_DIR: ".git", DOTENV_CONFIG_PATH: ".env" },
    "unknown",
    "production",
  ],
];

describe("detectEnvironment", () => {
  it.each(TABLE)("%s", (_description, env, detected, applied) => {
    const result = detectEnvironment(env);
    expect(result.detected).toBe(detected);
    expect(result.environment).toBe(applied);
    if (detected === "unknown") {
      expect(result.summary).toMatch(/^unknown, treated as production/);
      expect(result.confidence).toBeLessThan(MIN_DETECTION_CONFIDENCE);
    } else {
      expect(result.confidence).toBeGreaterThanOrEqual(MIN_DETECTION_CONFIDENCE);
      expect(result.summary).toMatch(new RegExp(`^${detected} \\(`));
    }
  });

  it("reports the signals used, in priority order, with confidence 1 for the explicit variable", () => {
    const explicit = detectEnvironment({ SECURE_REDIS_ENV: "testing" });
    expect(explicit.confidence).toBe(1);
    expect(explicit.signals).toEqual([
      { variable: "SECURE_REDIS_ENV", value: "testing", environment: "testing", weight: 1 },
    ]);

    const many = detectEnvironment({ DEPLOYMENT_ENV: "prod", NODE_ENV: "production", APP_ENV: "production" });
    expect(many.signals.map((signal) => signal.variable)).toEqual(["APP_ENV", "NODE_ENV", "DEPLOYMENT_ENV"]);
    expect(many.confidence).toBe(0.95);
  });

  it("lowers the confidence when signals conflict, compared with the same signals agreeing", () => {
    const agreeing = detectEnvironment({ APP_ENV: "staging", NODE_ENV: "staging" });
    const conflicting = detectEnvironment({ APP_ENV: "staging", NODE_ENV: "production" });
    expect(conflicting.confidence).toBeLessThan(agreeing.confidence);
    // A weak dissent among strong agreement still lowers, without flipping the result.
    const mostly = detectEnvironment({
      APP_ENV: "production",
      ENVIRONMENT: "production",
      NODE_ENV: "production",
      DEPLOYMENT_ENV: "staging",
    });
    expect(mostly.confidence).toBeLessThan(0.95);
    expect(mostly.confidence).toBeLessThan(agreeing.confidence);
  });

  it("does not look at files: .git and .env in the working directory are no signal", () => {
    const dir = mkdtempSync(join(tmpdir(), "env-detect-"));
    const previous = process.cwd();
    try {
      mkdirSync(join(dir, ".git"));
      writeFileSync(join(dir, ".env"), "APP_ENV=development\n");
      process.chdir(dir);
      const result = detectEnvironment({});
      expect(result.detected).toBe("unknown");
      expect(result.environment).toBe("production");
      expect(result.signals).toEqual([]);
    } finally {
      process.chdir(previous);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
