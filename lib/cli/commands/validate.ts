import { resolve } from "node:path";
import { readEnvFile } from "../../config/generator.js";
import { validateSecurityConfig } from "../../config/validator.js";
import { environmentOption, flag, parseCommandArgs, stringOption } from "../args.js";
import { formatFindings, json, summarizeFindings } from "../format.js";
import { EXIT, UsageError, type CliIo } from "../io.js";

export const VALIDATE_HELP = `Usage: secure-redis validate [--env-file FILE] [--env TIER] [--json]

Scores a configuration (0-100) against its tier: password length, character
classes and strength (zxcvbn), passwords shared between users, encryption key
format and count, TLS and encryption required by the tier, certificate files
(readable, valid, not expiring within the renewal window), secret file
permissions, plaintext URLs outside development. The formula is in
docs/validator.md; the same input always gives the same score.

Options:
  --env-file FILE  dotenv file to validate (default: this process's environment)
  --env TIER       tier to validate against (default: detected from the
                   configuration; unknown means production)
  --json           print the result as JSON
  -h, --help       show this help

Exit codes: 0 passed with nothing critical; 1 a critical finding or a score
below the tier's minimum; 2 usage error.
`;

export function validateCommand(args: readonly string[], io: CliIo): number {
  const parsed = parseCommandArgs(
    args,
    { "env-file": { type: "string" }, env: { type: "string" }, json: { type: "boolean" } },
    0,
  );
  if (flag(parsed, "help")) {
    io.stdout(VALIDATE_HELP);
    return EXIT.ok;
  }
  const file = stringOption(parsed, "env-file");
  let config: Record<string, string | undefined>;
  if (file === undefined) {
    config = io.env;
  } else {
    try {
      config = readEnvFile(resolve(io.cwd, file));
    } catch (error) {
      const code = error instanceof Error && "code" in error ? String(error.code) : "unreadable";
      throw new UsageError(`--env-file ${file}: cannot read it (${code})`);
    }
  }
  const environment = environmentOption(parsed);
  const result = validateSecurityConfig(config, environment === undefined ? {} : { environment });
  const exitCode = result.passed ? EXIT.ok : EXIT.findings;
  if (flag(parsed, "json")) {
    io.stdout(
      json({
        environment: result.environment,
        detection: result.detection?.summary ?? null,
        score: result.score,
        minScore: result.minScore,
        passed: result.passed,
        findings: result.findings,
        exitCode,
      }),
    );
    return exitCode;
  }
  io.stdout(
    `secure-redis validate ${file ?? "(environment)"} against ${result.environment}` +
      `${result.detection === undefined ? "" : ` [${result.detection.summary}]`}\n` +
      formatFindings(result.findings) +
      `${summarizeFindings(result.findings)}; score ${result.score}/100 (minimum ${result.minScore}); ` +
      `${result.passed ? "passed" : "FAILED"}; exit ${exitCode}\n`,
  );
  return exitCode;
}
