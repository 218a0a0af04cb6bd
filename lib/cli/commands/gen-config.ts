import { resolve } from "node:path";
import { ConfigFileExistsError, SecureConfigGenerator } from "../../config/generator.js";
import { environmentOption, flag, integerOption, parseCommandArgs, stringOption } from "../args.js";
import { json } from "../format.js";
import { EXIT, UsageError, type CliIo } from "../io.js";

export const GEN_CONFIG_HELP = `Usage: secure-redis gen-config --env TIER [options]

Generates a configuration for a tier: one password per ACL user (app, admin,
healthcheck) at the tier's length and character classes, a Fernet key ring, a
key-hashing secret, the TLS and mutual-TLS flags, and REDIS_URL. Writes it as
a dotenv file with mode 0600 and prints only redacted values.

Options:
  --env TIER     development, testing, staging or production (aliases such as
                 prod and preprod work); without it the environment is detected
                 from SECURE_REDIS_ENV, APP_ENV, ... (unknown means production)
  --out FILE     where to write (default .env)
  --dry-run      write nothing; print the file with secrets redacted
  --force        replace an existing file (it is first copied to FILE.bak-<time>, mode 0600)
  --host HOST    Redis host for REDIS_URL (default localhost)
  --port PORT    Redis port for REDIS_URL (default 6379)
  --json         print a JSON summary (secrets redacted)
  -h, --help     show this help

Exit codes: 0 success; 2 usage error (including: FILE exists and --force was not given).
`;

export function genConfigCommand(args: readonly string[], io: CliIo): number {
  const parsed = parseCommandArgs(
    args,
    {
      env: { type: "string" },
      out: { type: "string" },
      "dry-run": { type: "boolean" },
      force: { type: "boolean" },
      host: { type: "string" },
      port: { type: "string" },
      json: { type: "boolean" },
    },
    0,
  );
  if (flag(parsed, "help")) {
    io.stdout(GEN_CONFIG_HELP);
    return EXIT.ok;
  }
  const environment = environmentOption(parsed);
  const host = stringOption(parsed, "host");
  const port = integerOption(parsed, "port", 1, 65_535);
  const path = resolve(io.cwd, stringOption(parsed, "out") ?? ".env");
  const generator = new SecureConfigGenerator();
  const config = generator.generate({
    ...(environment === undefined ? { env: io.env } : { environment }),
    ...(host === undefined ? {} : { host }),
    ...(port === undefined ? {} : { port }),
  });
  let result;
  try {
    result = generator.save(config, path, { force: flag(parsed, "force"), dryRun: flag(parsed, "dry-run") });
  } catch (error) {
    if (error instanceof ConfigFileExistsError) throw new UsageError(error.message);
    throw error;
  }
  if (flag(parsed, "json")) {
    io.stdout(
      json({
        dryRun: !result.written,
        path: result.path,
        written: result.written,
        backupPath: result.backupPath ?? null,
        config,
      }),
    );
    return EXIT.ok;
  }
  if (!result.written) {
    io.stdout(`# dry run: nothing written; ${result.path} would contain (secrets redacted):\n${result.text}`);
    return EXIT.ok;
  }
  io.stdout(
    `wrote ${result.path} (mode 0600) for ${config.environment}` +
      (result.backupPath === undefined
        ? ""
        : `; previous file backed up to ${result.backupPath} (mode 0600)`) +
      `\n${result.text}`,
  );
  return EXIT.ok;
}
