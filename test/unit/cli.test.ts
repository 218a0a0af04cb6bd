/**
 * The `secure-redis` command in-process (runCli with captured output): help,
 * exit codes, redaction. The built executable, npx and the live audit are
 * tested in test/integration/audit-cli.test.ts.
 */
import dotenv from "dotenv";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Fernet, SECRET_VARIABLES } from "../../lib/index.js";
import { runCli } from "../../lib/cli/run.js";
import { assertNoSecret } from "../helpers/canary.js";

const dir = mkdtempSync(join(tmpdir(), "cli-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env,
    cwd: dir,
  });
  return { code, stdout, stderr };
}

/** Secret values in a written env file (the canaries for output). */
function secretsIn(path: string): string[] {
  const parsed = dotenv.parse(readFileSync(path, "utf8"));
  return SECRET_VARIABLES.map((name) => parsed[name]).filter((value): value is string => value !== undefined);
}

describe("secure-redis", () => {
  it.each(["audit", "gen-config", "gen-key", "validate"])(
    "%s --help prints usage with exit codes and exits 0",
    async (command) => {
      const { code, stdout } = await cli([command, "--help"]);
      expect(code).toBe(0);
      expect(stdout).toMatch(new RegExp(`^Usage: secure-redis ${command}`));
      expect(stdout).toMatch(/Exit codes: 0/);
    },
  );

  it("usage errors exit 2 with a message on stderr", async () => {
    expect((await cli([])).code).toBe(2);
    expect((await cli(["--help"])).code).toBe(0);
    const unknownCommand = await cli(["frobnicate"]);
    expect(unknownCommand).toMatchObject({ code: 2, stdout: "" });
    expect(unknownCommand.stderr).toMatch(/unknown command "frobnicate"/);
    expect((await cli(["toString"])).code).toBe(2);
    expect((await cli(["__proto__"])).code).toBe(2);
    const unknownOption = await cli(["gen-key", "--bogus"]);
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.stderr).toMatch(/Unknown option '--bogus'.*\n.*gen-key --help/s);
    expect((await cli(["gen-config", "--env", "qa-ish", "--dry-run"])).stderr).toMatch(
      /--env qa-ish: not an environment/,
    );
    expect((await cli(["audit", "--tls-cert", "/x"])).code).toBe(2);
    expect((await cli(["audit", "redis://127.0.0.1:1", "--password-file", "/nonexistent"])).stderr).toMatch(
      /--password-file: cannot read/,
    );
    expect((await cli(["validate", "--env-file", "/nonexistent.env"])).code).toBe(2);
    expect((await cli(["audit", "a", "b"])).stderr).toMatch(/unexpected argument: b/);
  });

  it("gen-key prints a valid Fernet key", async () => {
    const { code, stdout } = await cli(["gen-key"]);
    expect(code).toBe(0);
    const key = stdout.trim();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    expect(new Fernet(key).decrypt(new Fernet(key).encrypt("x")).toString()).toBe("x");
    const parsed = JSON.parse((await cli(["gen-key", "--json"])).stdout) as { key: string };
    expect(Object.keys(parsed)).toEqual(["key"]);
    expect(parsed.key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
  });

  it("gen-config --dry-run --json prints the configuration redacted and writes nothing", async () => {
    const { code, stdout } = await cli(["gen-config", "--env", "production", "--dry-run", "--json"]);
    expect(code).toBe(0);
    const output = JSON.parse(stdout) as Record<string, unknown>;
    expect(output).toMatchObject({
      dryRun: true,
      written: false,
      config: {
        environment: "production",
        detectionConfidence: 1,
        users: {
          app: { username: "app", password: "[redacted] (32 characters)" },
          admin: { username: "admin", password: "[redacted] (32 characters)" },
          healthcheck: { username: "healthcheck", password: "[redacted] (32 characters)" },
        },
        cacheKeySecret: "[redacted] (43 characters)",
        tls: { required: true, mutual: true },
        encryption: { enabled: true },
      },
    });
    expect(existsSync(join(dir, ".env"))).toBe(false);
    const text = await cli(["gen-config", "--env", "staging", "--dry-run"]);
    expect(text.stdout).toMatch(/^# dry run: nothing written/);
    expect(text.stdout).toContain("REDIS_PASSWORD='[redacted]'");
  });

  it("gen-config writes 0600, prints only redacted values, refuses to overwrite (exit 2), backs up with --force", async () => {
    const out = join(dir, "prod.env");
    const first = await cli(["gen-config", "--env", "prod", "--out", out, "--host", "redis.internal"]);
    expect(first.code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const secrets = secretsIn(out);
    expect(secrets).toHaveLength(5);
    assertNoSecret(first.stdout + first.stderr, secrets);
    expect(first.stdout).toMatch(/^wrote .*prod\.env \(mode 0600\) for production/);
    expect(dotenv.parse(readFileSync(out, "utf8")).REDIS_URL).toBe("rediss://redis.internal:6379");

    const refused = await cli(["gen-config", "--env", "production", "--out", out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/already exists; pass --force/);
    expect(secretsIn(out)).toEqual(secrets);

    const forced = await cli(["gen-config", "--env", "production", "--out", out, "--force", "--json"]);
    expect(forced.code).toBe(0);
    const summary = JSON.parse(forced.stdout) as { backupPath: string };
    expect(readFileSync(summary.backupPath, "utf8")).toContain(secrets[0]);
    expect(statSync(summary.backupPath).mode & 0o777).toBe(0o600);
    assertNoSecret(forced.stdout, [...secrets, ...secretsIn(out)]);
  });

  it("validate: exit 0 for a generated file, 1 for a failing one, and never prints secret values", async () => {
    const good = join(dir, "staging.env");
    expect((await cli(["gen-config", "--env", "staging", "--out", good])).code).toBe(0);
    const pass = await cli(["validate", "--env-file", good]);
    expect(pass.code).toBe(0);
    expect(pass.stdout).toMatch(/against staging.*\n.*score 100\/100 \(minimum 80\); passed; exit 0/s);
    assertNoSecret(pass.stdout, secretsIn(good));

    const bad = join(dir, "bad.env");
    const reused = dotenv.parse(readFileSync(good, "utf8"));
    writeFileSync(
      bad,
      Object.entries({
        ...reused,
        REDIS_URL: "redis://redis:6379",
        REDIS_ADMIN_PASSWORD: reused.REDIS_PASSWORD,
      })
        .map(([k, v]) => `${k}='${v}'`)
        .join("\n"),
    );
    const fail = await cli(["validate", "--env-file", bad, "--json"]);
    expect(fail.code).toBe(1);
    const result = JSON.parse(fail.stdout) as {
      passed: boolean;
      findings: Array<{ id: string }>;
      exitCode: number;
    };
    expect(result).toMatchObject({ passed: false, exitCode: 1 });
    expect(result.findings.map((finding) => finding.id)).toEqual(
      expect.arrayContaining(["password.reused", "tls.plaintext-url"]),
    );
    assertNoSecret(fail.stdout, secretsIn(good));

    // Without --env-file: the process environment given to the command.
    const fromEnv = await cli(["validate", "--env", "development"], { REDIS_URL: "redis://127.0.0.1:6379" });
    expect(fromEnv.code).toBe(0);
  });
});
