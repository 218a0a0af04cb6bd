/**
 * Rotation, for every stack: raising a generation by one must not touch a
 * single input of the Redis container (so the provider has nothing to
 * replace and the cache stays warm), must put the new and the previous
 * password in the ACL, and must hand the backend the new primary key
 * followed by the previous ones, as many as the tier retains.
 *
 * The mocks' ids are hashes of the inputs, so an input that merely carried a
 * replaced resource's id would show up as a change here too.
 */
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { TIERS, type TierPolicy } from "../../lib/config/tiers.js";
import {
  STACKS,
  backendContainer,
  configurator,
  deliveredFile,
  redisContainer,
  resourceNamed,
  resourcesOfType,
  runProgram,
  unwrap,
  type ProgramRun,
  type StackName,
} from "./program.js";

const TIER_OF: Record<StackName, TierPolicy> = {
  dev: TIERS.development,
  staging: TIERS.staging,
  prod: TIERS.production,
};

const hash = (password: unknown): string => `#${createHash("sha256").update(String(password)).digest("hex")}`;
const aclLine = (run: ProgramRun, user: string): string =>
  String(run.outputs.aclFile)
    .split("\n")
    .find((line) => line.startsWith(`user ${user} `))!;
const ring = (run: ProgramRun): string[] => deliveredFile(run, "backend", "encryption-keys").split(",");

/** Everything Redis's own resources receive: the container, its image, volumes and network. */
function redisSide(run: ProgramRun): Record<string, unknown> {
  const prefix = `secure-redis-${run.stack}`;
  const names = [
    `${prefix}-redis-server`,
    `${prefix}-redis-image`,
    `${prefix}-redis-config`,
    `${prefix}-networks-internal`,
  ];
  if (run.resources.some((r) => r.name === `${prefix}-redis-data`)) names.push(`${prefix}-redis-data`);
  return Object.fromEntries(names.map((name) => [name, resourceNamed(run, name).inputs]));
}

describe.each(STACKS)("rotation on stack %s", (stack) => {
  const tier = TIER_OF[stack];
  const runs: Record<string, ProgramRun> = {};
  const at = async (config: Record<string, string>): Promise<ProgramRun> => {
    const key = JSON.stringify(config);
    runs[key] ??= await runProgram(stack, { config });
    return runs[key];
  };

  let base: ProgramRun;
  beforeAll(async () => {
    base = await at({});
  });

  describe("rotation.passwordGeneration", () => {
    let second: ProgramRun;
    let third: ProgramRun;
    beforeAll(async () => {
      second = await at({ "rotation.passwordGeneration": "2" });
      third = await at({ "rotation.passwordGeneration": "3" });
    });

    it("leaves every input of the Redis container (and its image, volumes, network) unchanged", () => {
      expect(redisContainer(second).inputs).toEqual(redisContainer(base).inputs);
      expect(redisContainer(third).inputs).toEqual(redisContainer(base).inputs);
      expect(redisSide(second)).toEqual(redisSide(base));
      expect(redisSide(third)).toEqual(redisSide(base));
    });

    it("changes the configurator (so it runs again) and restarts the backend after it", () => {
      expect(configurator(second).id).not.toBe(configurator(base).id);
      const revision = (run: ProgramRun): string =>
        unwrap<string[]>(backendContainer(run).inputs.envs).find((env) =>
          env.startsWith("SECURE_REDIS_SECRETS_REVISION="),
        )!;
      expect(revision(second)).toBe(`SECURE_REDIS_SECRETS_REVISION=${configurator(second).id}`);
      expect(revision(second)).not.toBe(revision(base));
      const withoutRevision = (run: ProgramRun): string[] =>
        unwrap<string[]>(backendContainer(run).inputs.envs).filter(
          (env) => !env.startsWith("SECURE_REDIS_SECRETS_REVISION="),
        );
      expect(withoutRevision(second)).toEqual(withoutRevision(base));
    });

    it("creates the new generation and keeps the previous one unchanged", () => {
      const names = (run: ProgramRun): string[] =>
        resourcesOfType(run, "random:index/randomPassword:RandomPassword")
          .map((r) => r.name)
          .sort();
      const prefix = `secure-redis-${stack}-secrets`;
      expect(names(second)).toEqual(
        ["admin", "app", "healthcheck"].flatMap((user) => [
          `${prefix}-${user}-password-g1`,
          `${prefix}-${user}-password-g2`,
        ]),
      );
      for (const user of ["app", "admin", "healthcheck"]) {
        const g1 = `${prefix}-${user}-password-g1`;
        expect(resourceNamed(second, g1).inputs).toEqual(resourceNamed(base, g1).inputs);
      }
      expect(names(third).filter((name) => name.endsWith("-g1"))).toEqual([]);
    });

    it("puts the new and the previous password of every user in the ACL, and retires the older one next", () => {
      for (const [user, output] of [
        ["app", "appPassword"],
        ["admin", "adminPassword"],
        ["healthcheck", "healthcheckPassword"],
      ] as const) {
        const g1 = base.outputs[output];
        const g2 = second.outputs[output];
        const g3 = third.outputs[output];
        expect(new Set([g1, g2, g3]).size).toBe(3);
        expect(aclLine(second, user)).toContain(`on ${hash(g2)} ${hash(g1)} `);
        expect(aclLine(third, user)).toContain(`on ${hash(g3)} ${hash(g2)} `);
        expect(aclLine(third, user)).not.toContain(hash(g1));
      }
    });

    it("hands the backend the new password and the configurator both admin passwords, new first", () => {
      expect(deliveredFile(second, "backend", "redis-password")).toBe(second.outputs.appPassword);
      expect(deliveredFile(second, "operator", "admin-password-1")).toBe(second.outputs.adminPassword);
      expect(deliveredFile(second, "operator", "admin-password-2")).toBe(base.outputs.adminPassword);
      expect(deliveredFile(second, "redis", "healthcheck.password")).toBe(second.outputs.healthcheckPassword);
    });

    it("leaves the encryption keys alone", () => {
      expect(second.outputs.encryptionKeys).toBe(base.outputs.encryptionKeys);
      expect(second.outputs.keyHashingSecret).toBe(base.outputs.keyHashingSecret);
    });
  });

  describe("rotation.keyGeneration", () => {
    const generations = [2, 3, 4, 5];
    const byGeneration: Record<number, ProgramRun> = {};
    beforeAll(async () => {
      byGeneration[1] = base;
      for (const generation of generations) {
        byGeneration[generation] = await at({ "rotation.keyGeneration": String(generation) });
      }
    });

    it("leaves every input of the Redis container unchanged", () => {
      for (const generation of generations) {
        expect(redisContainer(byGeneration[generation]!).inputs).toEqual(redisContainer(base).inputs);
        expect(redisSide(byGeneration[generation]!)).toEqual(redisSide(base));
      }
    });

    it("gives the backend the new primary key followed by the previous ones, as many as the tier retains", () => {
      const primary = (generation: number): string => ring(byGeneration[generation]!)[0]!;
      for (const generation of [1, ...generations]) {
        const expected: string[] = [];
        for (let g = generation; g >= 1 && expected.length <= tier.retainedEncryptionKeys; g--)
          expected.push(primary(g));
        expect(ring(byGeneration[generation]!)).toEqual(expected);
        expect(byGeneration[generation]!.outputs.encryptionKeys).toBe(expected.join(","));
      }
      expect(new Set([1, ...generations].map(primary)).size).toBe(1 + generations.length);
      expect(ring(byGeneration[5]!)).toHaveLength(1 + tier.retainedEncryptionKeys);
    });

    it("keeps the key-hashing secret and the passwords", () => {
      for (const generation of generations) {
        const run = byGeneration[generation]!;
        expect(run.outputs.keyHashingSecret).toBe(base.outputs.keyHashingSecret);
        expect(run.outputs.appPassword).toBe(base.outputs.appPassword);
        expect(run.outputs.aclFile).toBe(base.outputs.aclFile);
      }
    });
  });

  describe("rotation.certificateGeneration", () => {
    let renewed: ProgramRun;
    beforeAll(async () => {
      renewed = await at({ "rotation.certificateGeneration": "2" });
    });

    it("issues a new server key and certificate without touching the Redis container or the CA", () => {
      expect(redisContainer(renewed).inputs).toEqual(redisContainer(base).inputs);
      expect(redisSide(renewed)).toEqual(redisSide(base));
      resourceNamed(renewed, `secure-redis-${stack}-tls-server-cert-g2`);
      expect(renewed.resources.some((r) => r.name.endsWith("-g1") && r.type.startsWith("tls:"))).toBe(false);
      expect(deliveredFile(renewed, "redis", "server.key")).not.toBe(
        deliveredFile(base, "redis", "server.key"),
      );
      expect(deliveredFile(renewed, "redis", "ca.crt")).toBe(deliveredFile(base, "redis", "ca.crt"));
    });
  });
});
