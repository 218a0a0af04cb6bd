/**
 * The real program (infra/index.ts), for every stack file, under mocks that
 * return secret values with canaries: where Redis is reachable from, what it
 * enforces, where secrets go (and where they never go), and how the
 * containers are hardened. Every assertion is on awaited values.
 */
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { KeyRing } from "../../lib/crypto/keyring.js";
import { PASSWORD_ALPHABET, TIERS, passwordLength, type TierPolicy } from "../../lib/config/tiers.js";
import { APP_COMMANDS, HEALTHCHECK_COMMANDS } from "../../lib/redis/commands.js";
import { MAXMEMORY_SHARE } from "../../infra/config.js";
import { assertNoSecret } from "../helpers/canary.js";
import {
  CONTAINER,
  STACKS,
  backendContainer,
  configurator,
  deliveredFile,
  redisContainer,
  resourceNamed,
  resourcesOfType,
  runProgram,
  stackFileConfig,
  unwrap,
  uploadedFiles,
  uploadsAreSecret,
  type ProgramRun,
  type StackName,
} from "./program.js";

const TIER_OF: Record<StackName, TierPolicy> = {
  dev: TIERS.development,
  staging: TIERS.staging,
  prod: TIERS.production,
};

/** Every output that holds a secret by design. */
const SECRET_OUTPUTS = [
  "appPassword",
  "adminPassword",
  "healthcheckPassword",
  "encryptionKeys",
  "keyHashingSecret",
  "aclFile",
  "operatorClientKey",
] as const;

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");
const command = (run: ProgramRun, container = redisContainer(run)): string[] =>
  unwrap<string[]>(container.inputs.command);

/** The values following `--name` in a redis-server argv, or undefined when absent. */
function option(argv: readonly string[], name: string): string[] | undefined {
  const at = argv.indexOf(`--${name}`);
  if (at === -1) return undefined;
  const values: string[] = [];
  for (let i = at + 1; i < argv.length && !argv[i]!.startsWith("--"); i++) values.push(argv[i]!);
  return values;
}

describe.each(STACKS)("stack %s", (stack) => {
  const tier = TIER_OF[stack];
  let run: ProgramRun;

  beforeAll(async () => {
    run = await runProgram(stack);
  });

  it("names its tier in the stack file and resolves that tier", () => {
    expect(stackFileConfig(stack)["secure-redis:tier"]).toBe(tier.environment);
    expect((run.outputs.securitySummary as { tier: string }).tier).toBe(tier.environment);
  });

  describe("network isolation", () => {
    it("publishes no Redis port and attaches Redis to the internal network only", () => {
      const inputs = redisContainer(run).inputs;
      expect(unwrap<unknown[] | undefined>(inputs.ports) ?? []).toEqual([]);
      expect(inputs.publishAllPorts).not.toBe(true);
      expect(inputs.networkMode).toBeUndefined();
      const internal = resourceNamed(run, `secure-redis-${stack}-networks-internal`);
      expect(unwrap(inputs.networksAdvanced)).toEqual([{ name: internal.inputs.name, aliases: ["redis"] }]);
    });

    it("makes that network internal (isolated gateway only when asked, as it needs Docker 28)", () => {
      const internal = resourceNamed(run, `secure-redis-${stack}-networks-internal`);
      expect(internal.inputs.internal).toBe(true);
      expect(internal.inputs.driver).toBe("bridge");
      expect(internal.inputs.options ?? {}).toEqual({});
      const edge = resourceNamed(run, `secure-redis-${stack}-networks-edge`);
      expect(edge.inputs.internal).toBe(false);
    });

    it("keeps the configuration container on the internal network only", () => {
      const inputs = configurator(run).inputs;
      expect(unwrap<unknown[]>(inputs.networksAdvanced)).toHaveLength(1);
      expect(unwrap(inputs.ports) ?? []).toEqual([]);
    });

    it("gives the backend both networks and publishes it on loopback in development only", () => {
      const inputs = backendContainer(run).inputs;
      const networks = unwrap<Array<{ name: string }>>(inputs.networksAdvanced).map(
        (network) => network.name,
      );
      expect(networks).toEqual([`secure-redis-${stack}-internal`, `secure-redis-${stack}-edge`]);
      const ports = unwrap<Array<Record<string, unknown>>>(inputs.ports) ?? [];
      if (stack === "dev") {
        expect(ports).toEqual([{ internal: 8080, external: 8080, ip: "127.0.0.1", protocol: "tcp" }]);
        expect(run.outputs.backendUrl).toBe("http://127.0.0.1:8080");
      } else {
        expect(ports).toEqual([]);
        expect(run.outputs.backendUrl).toBe("http://backend:8080 (edge network only)");
      }
    });
  });

  describe("TLS", () => {
    it("speaks TLS only: port 0, tls-port, TLS 1.2/1.3, client certificates per tier", () => {
      const argv = command(run);
      expect(argv[0]).toBe("redis-server");
      expect(option(argv, "port")).toEqual(["0"]);
      expect(option(argv, "tls-port")).toEqual(["6379"]);
      expect(option(argv, "tls-protocols")).toEqual(["TLSv1.2 TLSv1.3"]);
      expect(option(argv, "tls-auth-clients")).toEqual([tier.requireMutualTls ? "yes" : "no"]);
      expect(option(argv, "tls-cert-file")).toEqual(["/run/secure-redis/current/server.crt"]);
      expect(run.outputs.redisEndpoint).toBe("rediss://redis:6379");
    });

    it("issues the server certificate for the Redis alias with the tier's lifetime and early renewal", () => {
      const cert = resourceNamed(run, `secure-redis-${stack}-tls-server-cert-g1`);
      expect(cert.inputs.validityPeriodHours).toBe(tier.certificate.validityDays * 24);
      expect(cert.inputs.earlyRenewalHours).toBe(tier.certificate.renewBeforeDays * 24);
      const csr = resourceNamed(run, `secure-redis-${stack}-tls-server-csr-g1`);
      expect(csr.inputs.dnsNames).toEqual(["redis", "localhost"]);
      const ca = resourceNamed(run, `secure-redis-${stack}-tls-ca`);
      expect(ca.inputs.isCaCertificate).toBe(true);
      expect(ca.inputs.validityPeriodHours).toBe(tier.certificate.caValidityDays * 24);
      // The CA renews while a whole leaf lifetime remains: no leaf outlives its CA.
      expect(ca.inputs.earlyRenewalHours).toBe(tier.certificate.validityDays * 24);
    });

    it("issues client certificates exactly where the tier requires mutual TLS", () => {
      const clientCerts = resourcesOfType(run, "tls:index/locallySignedCert:LocallySignedCert").filter((r) =>
        r.name.includes("-client-cert-"),
      );
      expect(clientCerts.map((r) => r.name).sort()).toEqual(
        tier.requireMutualTls
          ? [
              `secure-redis-${stack}-tls-app-client-cert-g1`,
              `secure-redis-${stack}-tls-healthcheck-client-cert-g1`,
              `secure-redis-${stack}-tls-operator-client-cert-g1`,
            ]
          : [],
      );
      expect((run.outputs.securitySummary as { mutualTls: boolean }).mutualTls).toBe(tier.requireMutualTls);
    });
  });

  describe("ACL", () => {
    it("turns the default user off and gives no user a plaintext password", () => {
      const acl = String(run.outputs.aclFile);
      expect(acl.split("\n")[0]).toBe("user default off resetpass resetkeys resetchannels -@all");
      expect(acl).not.toMatch(/ >/);
      expect(deliveredFile(run, "redis", "users.acl")).toBe(acl);
    });

    it("limits app to its namespace and APP_COMMANDS, healthcheck to HEALTHCHECK_COMMANDS", () => {
      const lines = String(run.outputs.aclFile).trim().split("\n");
      const app = lines.find((line) => line.startsWith("user app "))!;
      expect(app).toContain(" resetkeys ~cache:* resetchannels -@all ");
      expect(app.match(/\+\S+/g)).toEqual(APP_COMMANDS.map((c) => `+${c}`));
      const health = lines.find((line) => line.startsWith("user healthcheck "))!;
      expect(health.match(/\+\S+/g)).toEqual(HEALTHCHECK_COMMANDS.map((c) => `+${c}`));
      expect(health).not.toContain("~");
      expect(lines.map((line) => line.split(" ")[1])).toEqual(["default", "app", "healthcheck", "admin"]);
    });

    it("holds each user's password as its SHA-256, matching the password that user receives", () => {
      const acl = String(run.outputs.aclFile);
      for (const output of ["appPassword", "adminPassword", "healthcheckPassword"]) {
        expect(acl).toContain(`#${sha256(String(run.outputs[output]))}`);
      }
      expect(deliveredFile(run, "backend", "redis-password")).toBe(run.outputs.appPassword);
      expect(deliveredFile(run, "redis", "healthcheck.password")).toBe(run.outputs.healthcheckPassword);
      expect(deliveredFile(run, "operator", "admin-password-1")).toBe(run.outputs.adminPassword);
    });
  });

  describe("secrets", () => {
    it("generates passwords at the tier's length from the URL-safe alphabet", () => {
      const passwords = resourcesOfType(run, "random:index/randomPassword:RandomPassword");
      expect(passwords.map((p) => p.name).sort()).toEqual(
        ["admin", "app", "healthcheck"].map((user) => `secure-redis-${stack}-secrets-${user}-password-g1`),
      );
      for (const password of passwords) {
        expect(password.inputs.length).toBe(tier.password.randomLength);
        expect(password.inputs.overrideSpecial).toBe(PASSWORD_ALPHABET.special);
        expect(password.inputs.special).toBe(true);
        for (const cls of tier.password.requiredClasses) {
          const key = { lower: "minLower", upper: "minUpper", digit: "minNumeric", special: "minSpecial" }[
            cls
          ];
          expect(password.inputs[key]).toBe(1);
        }
      }
      for (const output of ["appPassword", "adminPassword", "healthcheckPassword"]) {
        const value = String(run.outputs[output]);
        expect(value).toHaveLength(passwordLength(tier.password));
        expect(value.startsWith(tier.password.prefix)).toBe(true);
        expect(value).toMatch(/^[A-Za-z0-9._~-]+$/);
      }
    });

    it("derives encryption keys from RandomBytes(32), never RandomId, as a valid Fernet ring", () => {
      expect(resourcesOfType(run, "random:index/randomId:RandomId")).toEqual([]);
      const keys = resourcesOfType(run, "random:index/randomBytes:RandomBytes");
      expect(keys.map((k) => k.name).sort()).toEqual(
        [
          `secure-redis-${stack}-secrets-encryption-key-g1`,
          `secure-redis-${stack}-secrets-key-hashing-secret`,
        ].sort(),
      );
      for (const key of keys) expect(key.inputs.length).toBe(32);
      const ring = KeyRing.parse(String(run.outputs.encryptionKeys));
      expect(ring.size).toBe(1);
      expect(deliveredFile(run, "backend", "encryption-keys")).toBe(run.outputs.encryptionKeys);
      expect(deliveredFile(run, "backend", "key-hashing-secret")).toBe(run.outputs.keyHashingSecret);
    });

    it("exports every secret as a Pulumi secret, and no secret in a plain output", () => {
      for (const name of SECRET_OUTPUTS) expect(run.outputIsSecret[name], name).toBe(true);
      for (const [name, value] of Object.entries(run.outputs)) {
        if (run.outputIsSecret[name]) continue;
        assertNoSecret(JSON.stringify(value), run.secrets);
      }
    });

    it("delivers secrets only through the configurator's uploads, which are secret, mode 0400", () => {
      expect(uploadsAreSecret(run)).toBe(true);
      for (const [, file] of uploadedFiles(run)) expect(file.permissions).toBe("0400");
      const privateKeys = [...uploadedFiles(run)].filter(([path]) => path.endsWith(".key"));
      expect(privateKeys.length).toBeGreaterThan(0);
    });

    it("puts no secret in any container's envs, command, entrypoint, healthcheck or labels", () => {
      const containers = resourcesOfType(run, CONTAINER);
      expect(containers).toHaveLength(3);
      for (const container of containers) {
        const { envs, command: cmd, entrypoints, healthcheck, labels } = container.inputs;
        assertNoSecret(JSON.stringify({ envs, cmd, entrypoints, healthcheck, labels }), run.secrets);
        expect(JSON.stringify({ envs, cmd, labels })).not.toContain("CANARY");
      }
    });

    it("finds the canaries where secrets do belong (a positive control for the checks above)", () => {
      expect(() => assertNoSecret(JSON.stringify(configurator(run).inputs.uploads), run.secrets)).toThrow(
        /leaked/,
      );
      expect(JSON.stringify(configurator(run).inputs.uploads)).toContain("CANARY");
    });

    it("gives the Redis and backend containers no secret input at all", () => {
      for (const container of [redisContainer(run), backendContainer(run)]) {
        assertNoSecret(JSON.stringify(container.inputs), run.secrets);
        expect(container.inputs.uploads ?? []).toEqual([]);
      }
    });
  });

  describe("hardening", () => {
    it("runs Redis as non-root with a read-only root, tmpfs, no capabilities, no-new-privileges", () => {
      const inputs = redisContainer(run).inputs;
      expect(inputs.user).toBe("999:999");
      expect(inputs.readOnly).toBe(true);
      expect(inputs.capabilities).toEqual({ drops: ["ALL"] });
      expect(inputs.securityOpts).toEqual(["no-new-privileges:true"]);
      const tmpfs = inputs.tmpfs as Record<string, string>;
      expect(tmpfs["/tmp"]).toMatch(/noexec,nosuid,nodev/);
      if (tier.redis.persistence === "none") {
        expect(tmpfs["/data"]).toMatch(/uid=999,gid=999/);
      } else {
        expect(tmpfs["/data"]).toBeUndefined();
      }
      expect(inputs.privileged).not.toBe(true);
    });

    it("limits memory (swap off) and sets maxmemory below the limit, with a restart policy", () => {
      const inputs = redisContainer(run).inputs;
      const override = stackFileConfig(stack)["secure-redis:redis.memoryLimitMb"];
      const memory = typeof override === "number" && override > 0 ? override : tier.redis.memoryLimitMb;
      expect(inputs.memory).toBe(memory);
      expect(inputs.memorySwap).toBe(memory);
      expect(inputs.restart).toBe("unless-stopped");
      const argv = command(run);
      expect(option(argv, "maxmemory")).toEqual([`${Math.floor(memory * MAXMEMORY_SHARE)}mb`]);
      expect(option(argv, "maxmemory-policy")).toEqual(["allkeys-lru"]);
    });

    it("closes DEBUG, MODULE and protected configs and keeps protected mode", () => {
      const argv = command(run);
      expect(option(argv, "enable-debug-command")).toEqual(["no"]);
      expect(option(argv, "enable-module-command")).toEqual(["no"]);
      expect(option(argv, "enable-protected-configs")).toEqual(["no"]);
      expect(option(argv, "protected-mode")).toEqual(["yes"]);
      expect(option(argv, "aclfile")).toEqual(["/run/secure-redis/current/users.acl"]);
    });

    it("persists per tier on a volume, or keeps everything in tmpfs", () => {
      const argv = command(run);
      const mounts = unwrap<Array<Record<string, unknown>>>(redisContainer(run).inputs.mounts);
      expect(mounts[0]).toEqual({
        type: "volume",
        source: `secure-redis-${stack}-config`,
        target: "/run/secure-redis",
        readOnly: true,
      });
      if (tier.redis.persistence === "rdb") {
        expect(option(argv, "save")).toEqual(["3600", "1", "300", "100", "60", "10000"]);
        expect(mounts[1]).toEqual({ type: "volume", source: `secure-redis-${stack}-data`, target: "/data" });
      } else {
        expect(option(argv, "save")).toEqual([]);
        expect(option(argv, "appendonly")).toEqual(["no"]);
        expect(mounts).toHaveLength(1);
      }
    });

    it("checks health as the healthcheck user over TLS, the password read from a file", () => {
      const healthcheck = redisContainer(run).inputs.healthcheck as { tests: string[]; retries: number };
      expect(healthcheck.tests[0]).toBe("CMD-SHELL");
      const shell = healthcheck.tests[1]!;
      expect(shell).toContain(`REDISCLI_AUTH="$(cat '/run/secure-redis/current/healthcheck.password')"`);
      expect(shell).toContain("--tls --cacert '/run/secure-redis/current/ca.crt'");
      expect(shell).toContain("--user healthcheck PING");
      expect(shell.includes("--cert '/run/secure-redis/current/healthcheck.crt'")).toBe(
        tier.requireMutualTls,
      );
      expect(shell).not.toMatch(/ -a /);
      expect(healthcheck.retries).toBeGreaterThan(1);
      expect(redisContainer(run).inputs.wait).toBe(true);
    });

    it("runs the configurator with CHOWN as its only capability and the backend hardened like Redis", () => {
      const conf = configurator(run).inputs;
      expect(conf.capabilities).toEqual({ drops: ["ALL"], adds: ["CHOWN"] });
      expect(conf.securityOpts).toEqual(["no-new-privileges:true"]);
      expect(conf.attach).toBe(true);
      expect(conf.mustRun).toBe(false);
      expect(conf.entrypoints).toEqual(["/bin/sh", "-c"]);

      const backend = backendContainer(run).inputs;
      expect(backend.user).toBe("1000:1000");
      expect(backend.readOnly).toBe(true);
      expect(backend.capabilities).toEqual({ drops: ["ALL"] });
      expect(backend.securityOpts).toEqual(["no-new-privileges:true"]);
      expect(backend.memory).toBe(backend.memorySwap);
      expect(unwrap(backend.mounts)).toEqual([
        {
          type: "volume",
          source: `secure-redis-${stack}-backend-secrets`,
          target: "/run/secrets/secure-redis",
          readOnly: true,
        },
      ]);
    });
  });

  describe("backend", () => {
    it("gets REDIS_URL and REDIS_USERNAME as values and every secret as a *_FILE path that is delivered", () => {
      const envs = unwrap<string[]>(backendContainer(run).inputs.envs);
      const env = new Map(
        envs.map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]),
      );
      expect(env.get("REDIS_URL")).toBe("rediss://redis:6379");
      expect(env.get("REDIS_USERNAME")).toBe("app");
      expect(env.get("SECURE_REDIS_ENV")).toBe(tier.environment);
      const fileVars = [...env].filter(([name]) => name.endsWith("_FILE"));
      const expected = [
        "REDIS_PASSWORD_FILE",
        "REDIS_ENCRYPTION_KEYS_FILE",
        "REDIS_CACHE_KEY_SECRET_FILE",
        "REDIS_TLS_CA_FILE",
      ];
      if (tier.requireMutualTls) expected.push("REDIS_TLS_CERT_FILE", "REDIS_TLS_KEY_FILE");
      expect(fileVars.map(([name]) => name).sort()).toEqual(expected.sort());
      const delivered = [...uploadedFiles(run).keys()].filter((path) =>
        path.startsWith("/run/secure-redis-inbox/backend/"),
      );
      for (const [, path] of fileVars) {
        expect(path.startsWith("/run/secrets/secure-redis/current/")).toBe(true);
        expect(delivered).toContain(`/run/secure-redis-inbox/backend/${path.split("/").pop()}`);
      }
      expect(delivered).toHaveLength(fileVars.length);
    });

    it("restarts onto new secrets only after the configurator delivered them", () => {
      const envs = unwrap<string[]>(backendContainer(run).inputs.envs);
      expect(envs).toContain(`SECURE_REDIS_SECRETS_REVISION=${configurator(run).id}`);
    });
  });

  it("summarises what the stack enforces", () => {
    const summary = run.outputs.securitySummary as Record<string, unknown>;
    expect(summary).toMatchObject({
      tier: tier.environment,
      tls: true,
      mutualTls: tier.requireMutualTls,
      aclUsers: ["default (off)", "app (~cache:*)", "admin", "healthcheck"],
      passwordGeneration: 1,
      keyGeneration: 1,
      certificateGeneration: 1,
      redisPublishedPorts: "none",
      persistence: tier.redis.persistence,
    });
    expect(Date.parse(String(summary.certificateExpiry))).toBeGreaterThan(Date.now());
  });
});

describe("preview", () => {
  it.each(STACKS)("runs as a dry run (pulumi preview) on stack %s", async (stack) => {
    const run = await runProgram(stack, { preview: true });
    expect(redisContainer(run).inputs.user).toBe("999:999");
    expect(run.outputs.redisEndpoint).toBe("rediss://redis:6379");
  });
});
