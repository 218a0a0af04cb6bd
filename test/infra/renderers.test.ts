/**
 * The pure renderers and helpers, without Pulumi: ACL file, redis-server
 * arguments, healthcheck, the configurator script, container specs, secret
 * generations, Fernet key conversion, TLS lifetimes, network settings.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Fernet, PASSWORD_ALPHABET, TIERS } from "../../lib/index.js";
import { APP_COMMANDS, DANGEROUS_COMMANDS, HEALTHCHECK_COMMANDS } from "../../lib/redis/commands.js";
import { COMMANDS_SINCE, aclPasswordHash, appCommandsFor, renderAclFile } from "../../infra/acl.js";
import { backendContainerSpec, backendEnvironment } from "../../infra/backend.js";
import { renderConfiguratorScript } from "../../infra/configurator.js";
import { renderHealthcheckCommand } from "../../infra/healthcheck.js";
import { ISOLATED_GATEWAY_OPTIONS, internalNetworkSpec } from "../../infra/network.js";
import { configuratorPlan, redisContainerSpec } from "../../infra/redis.js";
import { renderRedisServerCommand, renderRedisServerOptions, toArgv } from "../../infra/redis-server-args.js";
import {
  fernetKeyFromBase64,
  keyGenerations,
  passwordGenerations,
  passwordResourceName,
  randomPasswordArgs,
} from "../../infra/secrets.js";
import { caLifetime, leafLifetime } from "../../infra/tls.js";

const V70 = { major: 7, minor: 0 };
const V72 = { major: 7, minor: 2 };
const hashOf = (text: string): string => aclPasswordHash(text);

describe("renderAclFile", () => {
  const input = {
    keyNamespace: "cache",
    serverVersion: V72,
    passwordHashes: { app: [hashOf("a2"), hashOf("a1")], admin: [hashOf("x")], healthcheck: [hashOf("h")] },
  };

  it("writes the default user off and each user on one line, passwords as SHA-256", () => {
    const lines = renderAclFile(input).split("\n");
    expect(lines).toEqual([
      "user default off resetpass resetkeys resetchannels -@all",
      `user app on ${hashOf("a2")} ${hashOf("a1")} resetkeys ~cache:* resetchannels -@all ${APP_COMMANDS.map((c) => `+${c}`).join(" ")}`,
      `user healthcheck on ${hashOf("h")} resetkeys resetchannels -@all ${HEALTHCHECK_COMMANDS.map((c) => `+${c}`).join(" ")}`,
      `user admin on ${hashOf("x")} ~* &* +@all`,
      "",
    ]);
    expect(hashOf("a1")).toBe(`#${createHash("sha256").update("a1").digest("hex")}`);
  });

  it("grants the app user no dangerous command", () => {
    const app = renderAclFile(input).split("\n")[1]!;
    const granted = new Set(app.match(/\+(\S+)/g)!.map((grant) => grant.slice(1)));
    for (const dangerous of DANGEROUS_COMMANDS) expect(granted.has(dangerous), dangerous).toBe(false);
    expect(app).not.toContain("+@"); // no category grants, only named commands
    expect(app.indexOf("-@all")).toBeLessThan(app.indexOf("+get"));
  });

  it("names only commands the server knows (Redis 7.0 has no CLIENT SETINFO)", () => {
    expect(appCommandsFor(V72)).toEqual([...APP_COMMANDS]);
    expect(appCommandsFor(V70)).toEqual(APP_COMMANDS.filter((c) => c !== "client|setinfo"));
    expect(renderAclFile({ ...input, serverVersion: V70 })).not.toContain("setinfo");
    for (const command of Object.keys(COMMANDS_SINCE))
      expect(APP_COMMANDS as readonly string[]).toContain(command);
  });

  it("refuses anything but hashes, without printing what it got", () => {
    const plaintext = "CANARY-plaintext-password";
    const attempt = (): string =>
      renderAclFile({ ...input, passwordHashes: { ...input.passwordHashes, app: [plaintext] } });
    expect(attempt).toThrow("app password hash 1 is not #<sha256 hex>");
    try {
      attempt();
    } catch (error) {
      expect(String(error)).not.toContain(plaintext);
    }
    expect(() => renderAclFile({ ...input, passwordHashes: { ...input.passwordHashes, admin: [] } })).toThrow(
      "the admin user needs at least one password hash",
    );
  });
});

describe("redis-server arguments", () => {
  const base = {
    port: 6379,
    aclFile: "/run/secure-redis/current/users.acl",
    dataDir: "/data",
    maxmemoryMb: 768,
    evictionPolicy: "allkeys-lru" as const,
    persistence: "rdb" as const,
  };
  const tls = { certFile: "/c/server.crt", keyFile: "/c/server.key", caFile: "/c/ca.crt", authClients: true };

  it("listens on the TLS port only when TLS is on", () => {
    const options = new Map(
      renderRedisServerOptions({ ...base, tls }).map(([name, ...values]) => [name, values]),
    );
    expect(options.get("port")).toEqual(["0"]);
    expect(options.get("tls-port")).toEqual(["6379"]);
    expect(options.get("tls-auth-clients")).toEqual(["yes"]);
    expect(options.get("tls-protocols")).toEqual(["TLSv1.2 TLSv1.3"]);
    const plain = new Map(
      renderRedisServerOptions({ ...base, tls: undefined }).map(([name, ...values]) => [name, values]),
    );
    expect(plain.get("port")).toEqual(["6379"]);
    expect(plain.has("tls-port")).toBe(false);
  });

  it("renders the hardening settings and the memory limit", () => {
    const argv = toArgv(renderRedisServerOptions({ ...base, tls }));
    for (const pair of [
      "--protected-mode yes",
      "--enable-debug-command no",
      "--enable-module-command no",
      "--enable-protected-configs no",
      "--maxmemory 768mb",
      "--maxmemory-policy allkeys-lru",
      "--aclfile /run/secure-redis/current/users.acl",
    ]) {
      expect(argv.join(" ")).toContain(pair);
    }
  });

  it("never renders an empty argument (the Docker provider rejects them) and never ends on a bare --save", () => {
    for (const persistence of ["none", "rdb", "aof"] as const) {
      for (const withTls of [true, false]) {
        const argv = renderRedisServerCommand({ ...base, persistence, tls: withTls ? tls : undefined });
        expect(argv.every((arg) => arg.length > 0)).toBe(true);
        const save = argv.indexOf("--save");
        expect(save).toBeGreaterThan(0);
        expect(argv[save + 1]).toBeDefined();
      }
    }
  });

  it("persists per mode", () => {
    const argv = (persistence: "none" | "rdb" | "aof"): string =>
      renderRedisServerCommand({ ...base, persistence, tls }).join(" ");
    expect(argv("none")).toContain("--save --appendonly no");
    expect(argv("rdb")).toContain("--save 3600 1 300 100 60 10000 --appendonly no");
    expect(argv("aof")).toContain("--save --appendonly yes --appendfsync everysec");
  });
});

describe("healthcheck", () => {
  it("reads the password into REDISCLI_AUTH and authenticates as healthcheck over TLS", () => {
    const command = renderHealthcheckCommand({
      port: 6379,
      passwordFile: "/run/secure-redis/current/healthcheck.password",
      tls: { caFile: "/run/secure-redis/current/ca.crt", certFile: "/h.crt", keyFile: "/h.key" },
    });
    expect(command).toBe(
      `[ "$(REDISCLI_AUTH="$(cat '/run/secure-redis/current/healthcheck.password')" redis-cli -h 127.0.0.1 -p 6379 ` +
        `--tls --cacert '/run/secure-redis/current/ca.crt' --cert '/h.crt' --key '/h.key' --user healthcheck PING 2>/dev/null)" = PONG ]`,
    );
    execFileSync("sh", ["-n", "-c", command]);
  });

  it("refuses a path that would need quoting", () => {
    expect(() =>
      renderHealthcheckCommand({ port: 1, passwordFile: "/x'; rm -rf /", tls: undefined }),
    ).toThrow(/unsafe path/);
  });
});

describe("configurator script", () => {
  const plan = configuratorPlan({
    alias: "redis",
    port: 6379,
    redisUser: { uid: 999, gid: 999 },
    serverFiles: ["users.acl", "server.crt", "server.key", "ca.crt", "healthcheck.password"],
    adminPasswordCount: 2,
    tls: { mutual: true },
    clients: [
      { name: "backend", owner: { uid: 1000, gid: 1000 }, files: ["redis-password", "encryption-keys"] },
    ],
  });
  const script = renderConfiguratorScript(plan);

  it("is valid POSIX shell", () => {
    execFileSync("sh", ["-n", "-c", script]);
  });

  it("installs the server's files, reloads Redis, and only then installs the clients' files", () => {
    const server = script.indexOf("install_generation '/volumes/redis' '999' '999'");
    const reload = script.indexOf("\nreload_redis\n");
    const client = script.indexOf("install_generation '/volumes/backend' '1000' '1000'");
    expect(server).toBeGreaterThan(0);
    expect(reload).toBeGreaterThan(server);
    expect(client).toBeGreaterThan(reload);
  });

  it("authenticates with the current then the previous admin password, by file, under mutual TLS", () => {
    expect(script).toContain(
      "for pwfile in '/run/secure-redis-inbox/operator/admin-password-1' '/run/secure-redis-inbox/operator/admin-password-2'",
    );
    expect(script).toContain('REDISCLI_AUTH="$(cat "$admin_pw")"');
    expect(script).toContain("--cert '/run/secure-redis-inbox/operator/client.crt'");
    expect(script).toContain('ACL SETUSER "$acl_user" reset "$@"');
    // The new ACL is read from the inbox (root's), never from the volume (the Redis user's, 0400).
    expect(script).toContain("apply_acl '/run/secure-redis-inbox/redis/users.acl' \"$chosen\"");
    expect(script).toContain('admin "$chosen" ACL LIST > "$ACL_BEFORE"');
    expect(script).not.toContain("ACL LOAD"); // it drops every authenticated client
    expect(script).toContain(
      "CONFIG SET tls-cert-file '/run/secure-redis/current/server.crt' tls-key-file '/run/secure-redis/current/server.key' tls-ca-cert-file '/run/secure-redis/current/ca.crt'",
    );
    expect(script).toContain(`trap 'rm -rf "$INBOX"' EXIT`);
  });

  it("refuses values that would need quoting", () => {
    expect(() => renderConfiguratorScript({ ...plan, inbox: "/tmp/$(reboot)" })).toThrow(/unsafe value/);
    expect(() =>
      renderConfiguratorScript({ ...plan, reload: { ...plan.reload, adminPasswordFiles: [] } }),
    ).toThrow(/no admin password file/);
  });
});

describe("container specs", () => {
  it("hardens Redis and keeps the data directory in tmpfs without persistence", () => {
    const spec = redisContainerSpec({
      user: { uid: 999, gid: 999 },
      port: 6379,
      memoryLimitMb: 256,
      maxmemoryMb: 192,
      evictionPolicy: "allkeys-lru",
      persistence: "none",
      tls: { mutual: false },
    });
    expect(spec).toMatchObject({
      user: "999:999",
      readOnly: true,
      capabilities: { drops: ["ALL"] },
      securityOpts: ["no-new-privileges:true"],
      memory: 256,
      memorySwap: 256,
      restart: "unless-stopped",
    });
    expect(spec.tmpfs["/data"]).toBe("rw,noexec,nosuid,nodev,size=16m,mode=0700,uid=999,gid=999");
    expect(spec.healthcheck.tests[1]).not.toContain("--cert");
  });

  it("gives the backend file paths for secrets and loopback publishing only when asked", () => {
    const env = backendEnvironment({
      environment: "production",
      port: 8080,
      redisUrl: "rediss://redis:6379",
      redisUsername: "app",
      keyNamespace: "cache",
      tls: { mutual: true },
    });
    expect(env).toContain("REDIS_PASSWORD_FILE=/run/secrets/secure-redis/current/redis-password");
    expect(env).toContain("REDIS_TLS_KEY_FILE=/run/secrets/secure-redis/current/client.key");
    expect(env.some((entry) => /PASSWORD=|KEYS=|SECRET=/.test(entry))).toBe(false);
    const spec = backendContainerSpec({
      user: { uid: 1000, gid: 1000 },
      memoryLimitMb: 256,
      port: 8080,
      publish: undefined,
    });
    expect(spec.ports).toEqual([]);
  });
});

describe("secret generations", () => {
  it("keeps the current and previous password generation", () => {
    expect(passwordGenerations(1)).toEqual([1]);
    expect(passwordGenerations(2)).toEqual([2, 1]);
    expect(passwordGenerations(9)).toEqual([9, 8]);
    expect(passwordResourceName("p", "app", 3)).toBe("p-app-password-g3");
  });

  it("keeps the current key and as many previous ones as the tier retains", () => {
    expect(keyGenerations(1, 2)).toEqual([1]);
    expect(keyGenerations(2, 2)).toEqual([2, 1]);
    expect(keyGenerations(5, 2)).toEqual([5, 4, 3]);
    expect(keyGenerations(5, TIERS.development.retainedEncryptionKeys)).toEqual([5, 4]);
  });

  it("turns 32 random bytes into a valid Fernet key, and refuses anything else", () => {
    const bytes = randomBytes(32);
    const key = fernetKeyFromBase64(bytes.toString("base64"));
    expect(key).toBe(`${bytes.toString("base64url")}=`);
    expect(key).toHaveLength(44);
    expect(new Fernet(key).decrypt(new Fernet(key).encrypt("x")).toString()).toBe("x");
    expect(() => fernetKeyFromBase64(randomBytes(16).toString("base64"))).toThrow(
      "expected 32 random bytes, got 16",
    );
  });

  it("asks RandomPassword for the tier's length, URL-safe specials and every required class", () => {
    for (const tier of Object.values(TIERS)) {
      const args = randomPasswordArgs(tier.password);
      expect(args.length).toBe(tier.password.randomLength);
      expect(args.overrideSpecial).toBe(PASSWORD_ALPHABET.special);
      expect(args.minSpecial).toBe(tier.password.requiredClasses.includes("special") ? 1 : 0);
    }
  });
});

describe("TLS lifetimes and networks", () => {
  it("derives certificate lifetimes from the tier, the CA renewing a leaf lifetime ahead", () => {
    const policy = TIERS.production.certificate;
    expect(leafLifetime(policy)).toEqual({
      validityPeriodHours: policy.validityDays * 24,
      earlyRenewalHours: policy.renewBeforeDays * 24,
    });
    expect(caLifetime(policy)).toEqual({
      validityPeriodHours: policy.caValidityDays * 24,
      earlyRenewalHours: policy.validityDays * 24,
    });
    for (const tier of Object.values(TIERS)) {
      expect(tier.certificate.caValidityDays).toBeGreaterThan(2 * tier.certificate.validityDays);
    }
  });

  it("makes the internal network internal, isolated gateway on request only", () => {
    expect(internalNetworkSpec(false)).toEqual({
      internal: true,
      driver: "bridge",
      attachable: false,
      ipv6: false,
      options: {},
    });
    expect(internalNetworkSpec(true).options).toEqual(ISOLATED_GATEWAY_OPTIONS);
    expect(ISOLATED_GATEWAY_OPTIONS["com.docker.network.bridge.gateway_mode_ipv4"]).toBe("isolated");
  });
});
