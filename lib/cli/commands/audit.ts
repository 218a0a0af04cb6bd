import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { readSecretFile } from "../../config/secret-file.js";
import { Secret } from "../../config/secret.js";
import { auditRedis, DEFAULT_AUDIT_URL, type AuditTlsOptions } from "../../redis/audit.js";
import { environmentOption, flag, integerOption, parseCommandArgs, stringOption } from "../args.js";
import { formatFindings, json, summarizeFindings } from "../format.js";
import { EXIT, UsageError, type CliIo } from "../io.js";

export const AUDIT_HELP = `Usage: secure-redis audit [url] [options]

Connects to a running Redis and reports what is wrong with it: unauthenticated
access, plaintext ports, the default user, protected-mode, bind address,
dangerous commands the user may run (ACL DRYRUN), DEBUG/MODULE enabled, TLS
version and certificate expiry, server version. Read-only: nothing is written
or executed on the server.

Arguments:
  url                    redis:// or rediss:// URL (default ${DEFAULT_AUDIT_URL})

Options:
  --user NAME            ACL user to authenticate as
  --password-file FILE   file holding the password (one trailing newline is
                         stripped); passwords are never taken on the command line
  --tls-ca FILE          CA certificate (PEM) that signed the server certificate
  --tls-cert FILE        client certificate (PEM), for servers with mutual TLS
  --tls-key FILE         client private key (PEM)
  --tls-servername NAME  name to verify the server certificate against
  --check-user NAME      whose permissions to check for dangerous commands
                         (default: --user); audit as an admin to check the app user
  --env TIER             tier whose certificate renewal window applies
                         (development, testing, staging, production; default production)
  --timeout MS           connect and command timeout (default 5000)
  --json                 print the report as JSON
  -h, --help             show this help

Exit codes: 0 nothing critical found; 1 a critical finding, or the audit could
not connect or authenticate; 2 usage error.
`;

export async function auditCommand(args: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(
    args,
    {
      user: { type: "string" },
      "password-file": { type: "string" },
      "tls-ca": { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "tls-servername": { type: "string" },
      "check-user": { type: "string" },
      env: { type: "string" },
      timeout: { type: "string" },
      json: { type: "boolean" },
    },
    1,
  );
  if (flag(parsed, "help")) {
    io.stdout(AUDIT_HELP);
    return EXIT.ok;
  }
  const path = (option: string): string | undefined => {
    const value = stringOption(parsed, option);
    return value === undefined ? undefined : resolve(io.cwd, value);
  };
  const passwordFile = path("password-file");
  const tls: AuditTlsOptions = {};
  const ca = path("tls-ca");
  const cert = path("tls-cert");
  const key = path("tls-key");
  if ((cert === undefined) !== (key === undefined))
    throw new UsageError("--tls-cert and --tls-key go together");
  if (ca !== undefined) tls.ca = readInput("--tls-ca", ca);
  if (cert !== undefined) tls.cert = readInput("--tls-cert", cert);
  if (key !== undefined) tls.key = new Secret(readSecretFile("--tls-key", key));
  const servername = stringOption(parsed, "tls-servername");
  if (servername !== undefined) tls.servername = servername;
  const user = stringOption(parsed, "user");
  const checkUser = stringOption(parsed, "check-user");
  const environment = environmentOption(parsed);
  const timeoutMs = integerOption(parsed, "timeout", 100, 600_000);

  const report = await auditRedis({
    url: parsed.positionals[0] ?? DEFAULT_AUDIT_URL,
    ...(user === undefined ? {} : { username: user }),
    ...(passwordFile === undefined
      ? {}
      : { password: new Secret(readSecretFile("--password-file", passwordFile)) }),
    tls,
    ...(checkUser === undefined ? {} : { checkUser }),
    ...(environment === undefined ? {} : { environment }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  const exitCode = report.critical || !report.complete ? EXIT.findings : EXIT.ok;
  if (flag(parsed, "json")) {
    io.stdout(json({ ...report, exitCode }));
    return exitCode;
  }
  const server = [
    report.serverVersion === undefined ? undefined : `Redis ${report.serverVersion}`,
    report.tls?.protocol ?? (report.target.startsWith("rediss:") ? undefined : "plaintext"),
  ]
    .filter((part) => part !== undefined)
    .join(", ");
  io.stdout(
    `secure-redis audit of ${report.target} as ${report.user}${server === "" ? "" : ` (${server})`} in ${report.durationMs} ms\n` +
      formatFindings(report.findings) +
      `${summarizeFindings(report.findings)}; score ${report.score}/100` +
      `${report.complete ? "" : "; audit incomplete"}; exit ${exitCode}\n`,
  );
  return exitCode;
}

function readInput(option: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = error instanceof Error && "code" in error ? String(error.code) : "unreadable";
    throw new UsageError(`${option} ${path}: cannot read it (${code})`);
  }
}
