/**
 * The live audit and the built `secure-redis` executable against real
 * redis-server processes: an insecure server (no auth, plaintext,
 * protected-mode off) and a hardened one (TLS only with port 0, ACL file with
 * the default user off, an app user without dangerous commands), plus
 * controls that show each "nothing critical" could have failed.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRedis, Secret, DEFAULT_AUDIT_URL, type AuditReport, type Finding } from "../../lib/index.js";
import { adminUserAcl, appUserAcl, hardenedAcl } from "../helpers/acl.js";
import { assertNoSecret } from "../helpers/canary.js";
import { buildCli, type CliBuild } from "../helpers/cli-build.js";
import { pythonWithCryptography } from "../helpers/components.js";
import { serverTls, startRedisServer, useRedisServer } from "../helpers/redis-server.js";
import { createTlsFixtures, disposeTlsFixtures, type TlsFixtures } from "../helpers/tls-fixtures.js";

const APP_PASSWORD = `App-${randomBytes(20).toString("base64url")}`;
const ADMIN_PASSWORD = `Adm-${randomBytes(20).toString("base64url")}`;
const HARDENED_ACL = hardenedAcl(appUserAcl("app", APP_PASSWORD), adminUserAcl("admin", ADMIN_PASSWORD));
const SECRETS = [APP_PASSWORD, ADMIN_PASSWORD];

let fixtures: TlsFixtures;
let cli: CliBuild;
let files: string;
beforeAll(async () => {
  fixtures = await createTlsFixtures();
  cli = buildCli();
  files = mkdtempSync(join(tmpdir(), "audit-cli-"));
  writeFileSync(join(files, "app.pw"), `${APP_PASSWORD}\n`, { mode: 0o600 });
  writeFileSync(join(files, "admin.pw"), `${ADMIN_PASSWORD}\n`, { mode: 0o600 });
}, 120_000);
afterAll(async () => {
  cli.remove();
  rmSync(files, { recursive: true, force: true });
  await disposeTlsFixtures();
});

const critical = (findings: Finding[]): string[] =>
  findings
    .filter((finding) => finding.severity === "critical")
    .map((finding) => finding.id)
    .sort();

function tlsArgs(): string[] {
  return ["--tls-ca", fixtures.ca.certPath];
}

describe("insecure server: no auth, plaintext, protected-mode off", () => {
  const redis = useRedisServer(() => ({ protectedMode: false }));

  it("`npx secure-redis audit <url> --json` prints findings as JSON and exits 1; no-auth, plaintext and protected-mode-off are critical", async () => {
    const { code, stdout } = await cli.npx(["audit", `redis://127.0.0.1:${redis().port}`, "--json"]);
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as AuditReport & { exitCode: number };
    expect(report.exitCode).toBe(1);
    expect(report.complete).toBe(true);
    expect(critical(report.findings)).toEqual(
      expect.arrayContaining(["audit.unauthenticated-access", "audit.plaintext", "audit.protected-mode-off"]),
    );
    // The default user is nopass and may run everything, so those are critical too.
    expect(critical(report.findings)).toEqual(
      expect.arrayContaining(["audit.default-user-nopass", "audit.dangerous-commands-allowed"]),
    );
    for (const finding of report.findings)
      expect(Object.keys(finding).sort()).toEqual(["id", "message", "remediation", "severity"]);
    expect(report.serverVersion).toMatch(/^7\./);
  });

  it("the text report names each critical finding and its fix", async () => {
    const { code, stdout } = await cli.node(["audit", `redis://127.0.0.1:${redis().port}`]);
    expect(code).toBe(1);
    expect(stdout).toMatch(
      /^secure-redis audit of redis:\/\/127\.0\.0\.1:\d+ as default \(Redis 7\.[\d.]+, plaintext\) in \d+ ms\n/,
    );
    expect(stdout).toMatch(
      /CRITICAL audit\.unauthenticated-access\n\s+anyone who reaches .* can run commands without a password\n\s+fix: /,
    );
    expect(stdout).toMatch(/\d critical.*; score \d+\/100; exit 1\n$/);
  });
});

describe("hardened server: TLS only (port 0), default user off, app user without dangerous commands", () => {
  const redis = useRedisServer(() => ({ tls: serverTls(fixtures), aclFile: HARDENED_ACL }));

  it("`secure-redis audit --json` as the app user reports nothing critical (exit 0), and what it cannot see as unknown", async () => {
    const url = `rediss://localhost:${redis().port}`;
    const { code, stdout, stderr } = await cli.node([
      "audit",
      url,
      "--user",
      "app",
      "--password-file",
      join(files, "app.pw"),
      ...tlsArgs(),
      "--json",
    ]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as AuditReport;
    expect(critical(report.findings)).toEqual([]);
    expect(report).toMatchObject({ complete: true, user: "app" });
    expect(report.tls?.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(report.findings.map((finding) => finding.id)).toEqual(
      expect.arrayContaining([
        "audit.unknown.config",
        "audit.unknown.dangerous-commands",
        "audit.server-version",
      ]),
    );
    assertNoSecret(stdout + stderr, SECRETS);
  });

  it("as an admin checking the app user (ACL DRYRUN): nothing critical, nothing unknown", async () => {
    const started = performance.now();
    const report = await auditRedis({
      url: `rediss://localhost:${redis().port}`,
      username: "admin",
      password: new Secret(ADMIN_PASSWORD),
      tls: { ca: fixtures.ca.cert },
      checkUser: "app",
    });
    const elapsed = performance.now() - started;
    // The fixtures' certificates live 7 days, inside production's 30-day renewal window: reported, medium.
    expect(report.findings.map((finding) => [finding.id, finding.severity])).toEqual([
      ["audit.tls.certificate-expiring", "medium"],
      ["audit.server-version", "info"],
    ]);
    expect(report.tls?.certificateValidTo).toBeDefined();
    console.log(
      `[measure] audit of the hardened server (admin, ACL DRYRUN of ${43} commands): ${report.durationMs} ms (wall ${elapsed.toFixed(0)} ms)`,
    );
  });

  it("canary: a wrong password for the audit is reported without showing it (exit 1: incomplete)", async () => {
    const wrong = join(files, "wrong.pw");
    const wrongPassword = `Wrong-${randomBytes(16).toString("hex")}`;
    writeFileSync(wrong, wrongPassword, { mode: 0o600 });
    const { code, stdout } = await cli.node([
      "audit",
      `rediss://localhost:${redis().port}`,
      "--user",
      "app",
      "--password-file",
      wrong,
      ...tlsArgs(),
      "--json",
    ]);
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as AuditReport;
    expect(report.complete).toBe(false);
    expect(report.findings.map((finding) => finding.id)).toEqual(["audit.auth-failed"]);
    assertNoSecret(stdout, [wrongPassword, ...SECRETS]);
  });
});

describe("controls: the same checks fail when the server is not hardened", () => {
  it("a plaintext port next to TLS is critical", async () => {
    const server = await startRedisServer({
      tls: serverTls(fixtures),
      plaintextPortToo: true,
      aclFile: HARDENED_ACL,
    });
    try {
      const report = await auditRedis({
        url: `rediss://localhost:${server.port}`,
        username: "admin",
        password: new Secret(ADMIN_PASSWORD),
        tls: { ca: fixtures.ca.cert },
        checkUser: "app",
      });
      expect(critical(report.findings)).toEqual(["audit.plaintext-port-open"]);
      expect(report.findings[0]?.message).toContain(`(${server.plainPort})`);
    } finally {
      await server.stop();
    }
  });

  it("an app user with +@all is critical, even when its keys and channels are limited (ACL DRYRUN lists the commands)", async () => {
    // The shape of a namespaced app user: its own keys only, no channels, but every command.
    const acl = hardenedAcl(
      `user app on >${APP_PASSWORD} resetkeys ~cache:* resetchannels +@all`,
      adminUserAcl("admin", ADMIN_PASSWORD),
    );
    const server = await startRedisServer({ tls: serverTls(fixtures), aclFile: acl });
    try {
      const report = await auditRedis({
        url: `rediss://localhost:${server.port}`,
        username: "admin",
        password: new Secret(ADMIN_PASSWORD),
        tls: { ca: fixtures.ca.cert },
        checkUser: "app",
      });
      const finding = report.findings.find(
        (candidate) => candidate.id === "audit.dangerous-commands-allowed",
      );
      expect(finding?.severity).toBe("critical");
      expect(finding?.message).toMatch(
        /"app" may run 43 dangerous commands: FLUSHALL, FLUSHDB, KEYS, CONFIG/,
      );
      // Key- and channel-scoped commands are still granted: the probe's key or channel was just outside the pattern.
      expect(finding?.message).toMatch(
        /\(MIGRATE, RESTORE, DUMP, MOVE, OBJECT, MEMORY, PUBLISH, SUBSCRIBE, PSUBSCRIBE, SORT on the keys or channels its patterns allow\)/,
      );
    } finally {
      await server.stop();
    }
  });

  it("an expired server certificate is critical (exit 1)", async () => {
    const server = await startRedisServer({
      tls: serverTls(fixtures, { pair: "expiredServer" }),
      aclFile: HARDENED_ACL,
    });
    try {
      const { code, stdout } = await cli.node([
        "audit",
        `rediss://localhost:${server.port}`,
        "--user",
        "app",
        "--password-file",
        join(files, "app.pw"),
        ...tlsArgs(),
        "--json",
      ]);
      expect(code).toBe(1);
      expect(critical((JSON.parse(stdout) as AuditReport).findings)).toEqual([
        "audit.tls-certificate-expired",
      ]);
    } finally {
      await server.stop();
    }
  });

  it("a server certificate inside the tier's renewal window is reported (fixtures live 7 days; production renews at 30)", async () => {
    const server = await startRedisServer({ tls: serverTls(fixtures), aclFile: HARDENED_ACL });
    try {
      const base = {
        url: `rediss://localhost:${server.port}`,
        username: "app",
        password: new Secret(APP_PASSWORD),
        tls: { ca: fixtures.ca.cert },
      };
      const production = await auditRedis({ ...base, environment: "production" });
      expect(
        production.findings.find((finding) => finding.id === "audit.tls.certificate-expiring")?.severity,
      ).toBe("medium");
      const development = await auditRedis({ ...base, environment: "development", now: Date.now() });
      expect(
        development.findings.find((finding) => finding.id === "audit.tls.certificate-expiring")?.severity,
      ).toBe("medium");
      const inAYear = await auditRedis({ ...base, now: Date.now() - 400 * 86_400_000 });
      expect(inAYear.findings.find((finding) => finding.id.startsWith("audit.tls.certificate"))?.id).toBe(
        "audit.tls.certificate-not-yet-valid",
      );
    } finally {
      await server.stop();
    }
  });
});

describe("the executable", () => {
  it("audit with no URL audits redis://127.0.0.1:6379", async () => {
    const { stdout } = await cli.node(["audit", "--json", "--timeout", "1000"]);
    expect((JSON.parse(stdout) as AuditReport).target).toBe(DEFAULT_AUDIT_URL);
    expect(DEFAULT_AUDIT_URL).toBe("redis://127.0.0.1:6379");
  });

  it("`npx secure-redis gen-config --env production --dry-run --json` prints the configuration with secrets redacted", async () => {
    const { code, stdout } = await cli.npx(["gen-config", "--env", "production", "--dry-run", "--json"]);
    expect(code).toBe(0);
    const output = JSON.parse(stdout) as {
      dryRun: boolean;
      config: {
        environment: string;
        users: Record<string, { password: string }>;
        encryptionKeys: string[];
        cacheKeySecret: string;
      };
    };
    expect(output.dryRun).toBe(true);
    expect(output.config.environment).toBe("production");
    for (const user of ["app", "admin", "healthcheck"])
      expect(output.config.users[user]?.password).toBe("[redacted] (32 characters)");
    expect(output.config.encryptionKeys[0]).toMatch(/^\[redacted\] \(key id [0-9a-f]{8}\)$/);
    expect(output.config.cacheKeySecret).toMatch(/^\[redacted\]/);
    // Nothing that looks like a password or a key is in the output.
    expect(stdout).not.toMatch(/[A-Za-z0-9_-]{43}=/);
  });

  it("`npx secure-redis gen-key` prints a key that Python's cryptography.fernet.Fernet accepts", async () => {
    const { code, stdout } = await cli.npx(["gen-key"]);
    expect(code).toBe(0);
    const key = stdout.trim();
    const roundTrip = execFileSync(
      pythonWithCryptography(),
      [
        "-c",
        "import sys\nfrom cryptography.fernet import Fernet\nf = Fernet(sys.argv[1].encode())\nprint(f.decrypt(f.encrypt(b'accepted')).decode())",
        key,
      ],
      { encoding: "utf8" },
    );
    expect(roundTrip.trim()).toBe("accepted");
  });

  it("--help works on every subcommand of the built executable", async () => {
    for (const command of ["audit", "gen-config", "gen-key", "validate"]) {
      const { code, stdout } = await cli.node([command, "--help"]);
      expect(code).toBe(0);
      expect(stdout).toMatch(new RegExp(`^Usage: secure-redis ${command}`));
    }
    expect((await cli.node(["nope"])).code).toBe(2);
  });
});
