/**
 * Program-time validation through the real program: each misconfiguration
 * stops `pulumi up` before a single resource is registered, with a message
 * that names the config key and the fix, and never the secret involved.
 */
import { describe, expect, it } from "vitest";
import { TIERS } from "../../lib/config/tiers.js";
import { assertNoSecret, visibleText } from "../helpers/canary.js";
import { latestRegistrations, programError, runProgram, type RunOptions, type StackName } from "./program.js";

/** Asserts the program fails on this stack/config with a message matching every pattern. */
async function expectRefusal(
  stack: StackName,
  options: RunOptions,
  patterns: RegExp[],
  secrets: string[] = [],
): Promise<void> {
  const error = await programError(stack, options);
  for (const pattern of patterns) expect(error.message).toMatch(pattern);
  assertNoSecret(visibleText(error), secrets);
  // pulumi.RunError: the CLI prints the message without a stack trace of the program.
  expect((error as { __pulumiRunError?: boolean }).__pulumiRunError).toBe(true);
}

describe("program-time validation (the errors the issue names)", () => {
  it("refuses an unknown tier, naming the key and the tiers", async () => {
    await expectRefusal("dev", { config: { tier: "prodution" } }, [
      /^secure-redis:tier: "prodution" is not a tier/,
      /development, testing, staging, production/,
      /pulumi config set tier <tier>/,
    ]);
  });

  it.each(["staging", "prod"] as const)("refuses TLS off where the tier requires it (%s)", async (stack) => {
    const tier = stack === "prod" ? "production" : "staging";
    await expectRefusal(stack, { config: { "tls.enabled": "false" } }, [
      /^secure-redis:tls\.enabled: is false/,
      new RegExp(`the ${tier} tier requires TLS`),
      /pulumi config rm tls\.enabled/,
    ]);
  });

  it("accepts TLS off in development, and then serves plaintext on the internal network only", async () => {
    const run = await runProgram("dev", { config: { "tls.enabled": "false" } });
    expect(run.outputs.redisEndpoint).toBe("redis://redis:6379");
    expect(run.resources.some((resource) => resource.type.startsWith("tls:"))).toBe(false);
  });

  it.each(["dev", "staging", "prod"] as const)("refuses a published Redis port (%s)", async (stack) => {
    await expectRefusal(stack, { config: { "redis.publishedPort": "6379" } }, [
      /^secure-redis:redis\.publishedPort: is 6379, but Redis is never published on the host/,
      /pulumi config rm redis\.publishedPort/,
    ]);
  });

  it("refuses a supplied password shorter than the tier minimum, without echoing it", async () => {
    const short = "CANARYshort-Pw9";
    await expectRefusal(
      "prod",
      { config: { "passwords.app": short }, secretKeys: ["passwords.app"] },
      [
        /^secure-redis:passwords\.app: password 1 of 1 has 15 characters/,
        new RegExp(`the production tier requires at least ${TIERS.production.password.randomLength}`),
        /pulumi config set --secret passwords\.app/,
      ],
      [short],
    );
  });

  it("refuses a short previous password too, naming its position", async () => {
    const current = "CANARY-current-password-32-chars-x";
    const previous = "CANARYprevious-Pw9";
    await expectRefusal(
      "staging",
      { config: { "passwords.admin": `${current},${previous}` }, secretKeys: ["passwords.admin"] },
      [
        /^secure-redis:passwords\.admin: password 2 of 2 has 18 characters; the staging tier requires at least 24/,
      ],
      [current, previous],
    );
  });
});

describe("further program-time refusals", () => {
  it("refuses a secret stored in plaintext in the stack file", async () => {
    const password = "CANARY-0123456789-abcdefghijkl-ABCDEF";
    await expectRefusal(
      "prod",
      { config: { "passwords.app": password } },
      [/^secure-redis:passwords\.app: is stored in plaintext/, /pulumi config set --secret passwords\.app/],
      [password],
    );
  });

  it("refuses supplied passwords outside the URL-safe alphabet or missing a required class", async () => {
    const withSpace = "CANARY 0123456789-abcdefghijkl-ABCDEF";
    await expectRefusal(
      "prod",
      { config: { "passwords.app": withSpace }, secretKeys: ["passwords.app"] },
      [/character outside A-Z a-z 0-9 - _ \. ~ at position 7/],
      [withSpace],
    );
    const noSpecial = "CANARY0123456789abcdefghijklABCDEF";
    await expectRefusal(
      "prod",
      { config: { "passwords.app": noSpecial }, secretKeys: ["passwords.app"] },
      [/lacks special characters, which the production tier requires/],
      [noSpecial],
    );
  });

  it("refuses a malformed supplied key ring without echoing it", async () => {
    const bad = "CANARYnot-a-fernet-key";
    await expectRefusal(
      "staging",
      { config: { encryptionKeys: bad }, secretKeys: ["encryptionKeys"] },
      [/^secure-redis:encryptionKeys: key 1 of 1/],
      [bad],
    );
  });

  it("refuses a structured value set with --path, and an unknown key", async () => {
    await expectRefusal("dev", { config: { rotation: '{"passwordGeneration":2}' } }, [
      /^secure-redis:rotation: is a structured value \(set with --path\?\)/,
      /pulumi config set rotation\.\w+ <value>/,
    ]);
    await expectRefusal("dev", { config: { "rotation.passwordGenration": "2" } }, [
      /^secure-redis:rotation\.passwordGenration: is not a setting of this program/,
      /rotation\.passwordGeneration/,
    ]);
  });

  it("refuses root users, a generation below 1, and an image without a known version", async () => {
    await expectRefusal("dev", { config: { "redis.user": "0:0" } }, [
      /^secure-redis:redis\.user: must not be root/,
    ]);
    await expectRefusal("dev", { config: { "rotation.keyGeneration": "0" } }, [
      /^secure-redis:rotation\.keyGeneration: must be 1 or more/,
    ]);
    await expectRefusal("dev", { config: { "redis.image": "secure-redis/redis:test" } }, [
      /^secure-redis:redis\.serverVersion: is required/,
      /pulumi config set redis\.serverVersion/,
    ]);
    await expectRefusal("dev", { config: { "redis.image": "redis:6.2.14" } }, [
      /^secure-redis:redis\.image: runs Redis 6\.2; at least 7\.0 is required/,
    ]);
  });

  it("refuses to publish the backend beyond loopback in production", async () => {
    await expectRefusal("prod", { config: { "backend.publishAddress": "0.0.0.0" } }, [
      /^secure-redis:backend\.publishAddress: is 0\.0\.0\.0/,
      /reverse proxy on the edge network/,
    ]);
  });

  it("refuses an incomplete set of supplied certificates", async () => {
    await expectRefusal("staging", { config: { "tls.serverCertPem": "-----BEGIN CERTIFICATE-----" } }, [
      /^secure-redis:tls\.caCertPem: is required when any certificate is supplied/,
    ]);
  });

  it("registers no resource before refusing", async () => {
    const before = await runProgram("dev");
    expect(before.resources.length).toBeGreaterThan(0);
    const error = await programError("dev", { config: { "redis.publishedPort": "6379" } });
    expect(error.message).toContain("redis.publishedPort");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(latestRegistrations()).toEqual([]);
  });
});

describe("backend.enabled=false", () => {
  it("deploys Redis alone and still writes the client secrets volume for another app", async () => {
    const run = await runProgram("dev", { config: { "backend.enabled": "false" } });
    const containers = run.resources
      .filter((r) => r.type === "docker:index/container:Container")
      .map((r) => r.name);
    expect(containers.sort()).toEqual([
      "secure-redis-dev-redis-configurator",
      "secure-redis-dev-redis-server",
    ]);
    expect(run.resources.some((r) => r.name === "secure-redis-dev-redis-backend-secrets")).toBe(true);
    expect(String(run.outputs.backendUrl)).toMatch(/^disabled/);
  });
});
