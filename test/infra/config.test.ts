/**
 * Config resolution on its own (no Pulumi): tier defaults, overrides, the
 * schema in Pulumi.yaml kept identical to the program's, stack files free of
 * plaintext secrets, and supplied secrets that never leak into messages.
 */
import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { ENVIRONMENTS, Fernet, TIERS, type Environment } from "../../lib/index.js";
import { ConfigurationError } from "../../lib/errors.js";
import { CONFIG_KEYS as KEYS, fullKey, type ConfigKeySpec } from "../../infra/config-schema.js";
import { MAXMEMORY_SHARE, resolveConfig, type RawConfig } from "../../infra/config.js";
import { parseRedisVersion, versionFromImageTag } from "../../infra/redis-version.js";
import { Secret } from "../../lib/config/secret.js";
import { assertNoSecret, expectThrowsWithoutSecrets, visibleText } from "../helpers/canary.js";
import { ROOT, STACKS, projectConfigSchema, stackFileConfig } from "./program.js";

const CONFIG_KEYS: readonly ConfigKeySpec[] = KEYS;

function raw(values: Record<string, string>, secretKeys: string[] = []): RawConfig {
  const full = Object.fromEntries(Object.entries(values).map(([key, value]) => [fullKey(key), value]));
  const secrets = new Set(secretKeys.map(fullKey));
  return { values: full, isSecret: (key) => secrets.has(key) };
}

const resolve = (values: Record<string, string>, secretKeys: string[] = []) =>
  resolveConfig(raw(values, secretKeys), "test");

describe("the config schema", () => {
  it("is the same in Pulumi.yaml and in the program: keys, types, defaults", () => {
    const schema = projectConfigSchema();
    expect(Object.keys(schema).sort()).toEqual(CONFIG_KEYS.map((spec) => fullKey(spec.key)).sort());
    for (const spec of CONFIG_KEYS) {
      const declared = schema[fullKey(spec.key)]!;
      expect(declared.type, spec.key).toBe(spec.type);
      expect(declared.default, spec.key).toBe(spec.default);
      expect(declared.description.length, spec.key).toBeGreaterThan(20);
      expect(declared.description.startsWith("Secret."), spec.key).toBe(spec.secret === true);
    }
  });

  it("declares a runtime that runs the TypeScript entry under ESM", () => {
    const project = readFileSync(`${ROOT}/Pulumi.yaml`, "utf8");
    expect(project).toMatch(/^name: secure-redis$/m);
    expect(project).toMatch(/^main: infra\/index\.ts$/m);
    expect(project).toContain('nodeargs: "--import tsx"');
  });

  it("is documented key by key in docs/deploy.md", () => {
    const docs = readFileSync(`${ROOT}/docs/deploy.md`, "utf8");
    for (const spec of CONFIG_KEYS) expect(docs, spec.key).toContain(`\`${spec.key}\``);
  });

  it("shows each tier's numbers exactly as the tier table has them", () => {
    const docs = readFileSync(`${ROOT}/docs/deploy.md`, "utf8");
    const rows = new Map<string, string[]>();
    for (const line of docs.split("\n")) {
      const cells = line.split("|").map((cell) => cell.trim());
      if (cells.length === 7) rows.set(cells[1]!, cells.slice(2, 6));
    }
    const order = ["development", "testing", "staging", "production"] as const;
    const expected: Record<string, (tier: (typeof TIERS)[Environment]) => string> = {
      "password random characters": (t) => String(t.password.randomLength),
      "password prefix": (t) => t.password.prefix || "none",
      "required character classes": (t) => t.password.requiredClasses.join(", "),
      "TLS required": (t) => (t.requireTls ? "yes" : "no"),
      "mutual TLS": (t) => (t.requireMutualTls ? "yes" : "no"),
      "previous encryption keys kept": (t) => String(t.retainedEncryptionKeys),
      "certificate lifetime (days)": (t) => String(t.certificate.validityDays),
      "renew before expiry (days)": (t) => String(t.certificate.renewBeforeDays),
      "CA lifetime (days)": (t) => String(t.certificate.caValidityDays),
      "Redis memory limit (MiB)": (t) => String(t.redis.memoryLimitMb),
      persistence: (t) => t.redis.persistence,
    };
    for (const [label, value] of Object.entries(expected)) {
      expect(rows.get(label), label).toEqual(order.map((name) => value(TIERS[name])));
    }
    expect(docs).toContain(`\`maxmemory\` is three quarters of it`);
    expect(MAXMEMORY_SHARE).toBe(0.75);
  });

  it.each(STACKS)("stack file %s uses known keys only and holds no plaintext secret", (stack) => {
    const config = stackFileConfig(stack);
    const known = new Map(CONFIG_KEYS.map((spec) => [fullKey(spec.key), spec]));
    for (const [key, value] of Object.entries(config)) {
      const spec = known.get(key);
      expect(spec, key).toBeDefined();
      if (spec?.secret === true) {
        expect(
          typeof value === "object" && value !== null && "secure" in value,
          `${key} must be encrypted`,
        ).toBe(true);
      }
    }
  });
});

describe("tier resolution", () => {
  it.each(ENVIRONMENTS)("takes %s's numbers from the tier table", (environment: Environment) => {
    const tier = TIERS[environment];
    const config = resolve({ tier: environment });
    expect(config.tier).toBe(tier);
    expect(config.redis.memoryLimitMb).toBe(tier.redis.memoryLimitMb);
    expect(config.redis.maxmemoryMb).toBe(Math.floor(tier.redis.memoryLimitMb * MAXMEMORY_SHARE));
    expect(config.redis.persistence).toBe(tier.redis.persistence);
    expect(config.tls).toMatchObject({ enabled: true, mutual: tier.requireMutualTls, supplied: undefined });
    expect(config.backend.publish).toEqual(
      environment === "development" ? { address: "127.0.0.1", hostPort: 8080 } : undefined,
    );
  });

  it("treats a missing tier as production, never as development", () => {
    expect(resolve({}).tier).toBe(TIERS.production);
  });

  it("applies overrides: memory, persistence, mutual TLS below production, generations", () => {
    const config = resolve({
      tier: "staging",
      "redis.memoryLimitMb": "4096",
      "redis.persistence": "aof",
      "tls.mutual": "true",
      "rotation.passwordGeneration": "7",
    });
    expect(config.redis.memoryLimitMb).toBe(4096);
    expect(config.redis.maxmemoryMb).toBe(3072);
    expect(config.redis.persistence).toBe("aof");
    expect(config.tls.mutual).toBe(true);
    expect(config.rotation.passwordGeneration).toBe(7);
  });

  it("cannot turn mutual TLS off in production (false means: the tier decides)", () => {
    expect(resolve({ tier: "production", "tls.mutual": "false" }).tls.mutual).toBe(true);
  });

  it("reads the server version from the image tag, or requires it", () => {
    expect(resolve({ "redis.image": "valkey/valkey:8.0.2-alpine" }).redis.serverVersion).toEqual({
      major: 8,
      minor: 0,
    });
    expect(
      resolve({ "redis.image": "secure-redis/redis:test", "redis.serverVersion": "7.0" }).redis.serverVersion,
    ).toEqual({ major: 7, minor: 0 });
    expect(() => resolve({ "redis.image": "redis:7.2.11", "redis.serverVersion": "7.0" })).toThrow(
      /redis\.serverVersion: says 7\.0 but redis\.image "redis:7\.2\.11" is 7\.2/,
    );
  });

  it("parses image tags and versions", () => {
    expect(versionFromImageTag("redis:7.2.11")).toEqual({ major: 7, minor: 2 });
    expect(versionFromImageTag("registry:5000/redis:7.0.15@sha256:abc")).toEqual({ major: 7, minor: 0 });
    expect(versionFromImageTag("registry:5000/redis")).toBeUndefined();
    expect(versionFromImageTag("redis:latest")).toBeUndefined();
    expect(versionFromImageTag("redis@sha256:abc")).toBeUndefined();
    expect(parseRedisVersion("7.2-bookworm")).toEqual({ major: 7, minor: 2 });
    expect(parseRedisVersion("seven")).toBeUndefined();
  });

  it("rejects malformed values with the key's name", () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ "redis.port": "abc" }, /secure-redis:redis\.port: must be a whole number/],
      [{ "redis.port": "70000" }, /secure-redis:redis\.port: must be a TCP port/],
      [{ "tls.enabled": "yes" }, /secure-redis:tls\.enabled: must be true or false/],
      [{ "redis.memoryLimitMb": "16" }, /secure-redis:redis\.memoryLimitMb: is 16 MiB; at least 64/],
      [
        { "redis.evictionPolicy": "lru" },
        /secure-redis:redis\.evictionPolicy: "lru" is not a Redis eviction policy/,
      ],
      [{ "redis.persistence": "disk" }, /secure-redis:redis\.persistence: "disk" is not a persistence mode/],
      [
        { "redis.keyNamespace": "cache:*" },
        /secure-redis:redis\.keyNamespace: "cache:\*" cannot be an ACL key namespace/,
      ],
      [{ "backend.user": "node" }, /secure-redis:backend\.user: must be numeric "<uid>:<gid>"/],
      [
        { "backend.publishAddress": "localhost" },
        /secure-redis:backend\.publishAddress: must be an IP address/,
      ],
      [
        { tier: "development", "tls.enabled": "false", "tls.mutual": "true" },
        /secure-redis:tls\.mutual: is true while tls\.enabled is false/,
      ],
    ];
    for (const [values, message] of cases) {
      expect(() => resolve(values), JSON.stringify(values)).toThrow(ConfigurationError);
      expect(() => resolve(values)).toThrow(message);
    }
  });
});

describe("supplied secrets", () => {
  const appPasswords = ["CANARY-Current-0123456789-abcdefgh", "CANARY-Previous-0123456789-abcdefg"];
  const keys = [Fernet.generateKey(), Fernet.generateKey()];

  it("replace the generated ones and stay redacted wherever they are printed", () => {
    const config = resolve(
      {
        tier: "production",
        "passwords.app": appPasswords.join(","),
        encryptionKeys: keys.join(","),
        keyHashingSecret: "CANARY-key-hashing-secret-0123456789",
      },
      ["passwords.app", "encryptionKeys", "keyHashingSecret"],
    );
    expect(config.supplied.passwords.app?.map((password) => password.reveal())).toEqual(appPasswords);
    expect(config.supplied.encryptionKeys?.map((key) => key.reveal())).toEqual(keys);
    const printed = [
      inspect(config, { depth: 10 }),
      JSON.stringify(config),
      String(config.supplied.keyHashingSecret),
    ].join();
    assertNoSecret(printed, [...appPasswords, ...keys, "CANARY-key-hashing-secret-0123456789"]);
    expect(printed).toContain("[redacted]");
  });

  it("are refused when they break the tier's policy, and the message never holds them", () => {
    const tooMany = [...appPasswords, "CANARY-Third-0123456789-abcdefghij"];
    expectThrowsWithoutSecrets(
      () => resolve({ tier: "production", "passwords.app": tooMany.join(",") }, ["passwords.app"]),
      tooMany,
    );
    const ring = [Fernet.generateKey(), Fernet.generateKey(), Fernet.generateKey(), Fernet.generateKey()];
    const error = expectThrowsWithoutSecrets(
      () => resolve({ tier: "production", encryptionKeys: ring.join(",") }, ["encryptionKeys"]),
      ring,
    );
    expect(error.message).toMatch(/holds 4 keys; the production tier keeps the primary and 2 previous/);
    const same = `${appPasswords[0]},${appPasswords[0]}`;
    expect(
      visibleText(
        expectThrowsWithoutSecrets(
          () => resolve({ tier: "production", "passwords.app": same }, ["passwords.app"]),
          appPasswords,
        ),
      ),
    ).toMatch(/the current and previous password are the same/);
    expectThrowsWithoutSecrets(
      () => resolve({ tier: "production", keyHashingSecret: "CANARY-too-short" }, ["keyHashingSecret"]),
      ["CANARY-too-short"],
    );
  });

  it("Secret redacts in every common printing path", () => {
    const secret = new Secret("CANARY-sensitive-value");
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- the interpolation is what is tested
    const text = [String(secret), `${secret}`, JSON.stringify({ secret }), inspect({ secret })].join(" ");
    assertNoSecret(text, ["CANARY-sensitive-value"]);
    expect(secret.reveal()).toBe("CANARY-sensitive-value");
  });
});
