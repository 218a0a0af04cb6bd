/**
 * The `secure-redis` command: dispatch, help and exit codes. Runs in-process
 * (tests call `runCli` with captured output); main.ts is the executable.
 */
import { ConfigurationError } from "../errors.js";
import { AUDIT_HELP, auditCommand } from "./commands/audit.js";
import { GEN_CONFIG_HELP, genConfigCommand } from "./commands/gen-config.js";
import { GEN_KEY_HELP, genKeyCommand } from "./commands/gen-key.js";
import { VALIDATE_HELP, validateCommand } from "./commands/validate.js";
import { EXIT, UsageError, type CliIo } from "./io.js";

export const MAIN_HELP = `Usage: secure-redis <command> [options]

Commands:
  audit [url]    audit a running Redis (default ${"redis://127.0.0.1:6379"})
  gen-config     generate a configuration with fresh secrets for a tier
  gen-key        print a new Fernet key
  validate       score a configuration against its tier

Run secure-redis <command> --help for a command's options.

Exit codes: 0 nothing critical found; 1 something critical found (or the
audit could not complete, or validation failed); 2 usage error.
`;

const COMMANDS: Record<
  string,
  { run: (args: readonly string[], io: CliIo) => number | Promise<number>; help: string }
> = {
  audit: { run: auditCommand, help: AUDIT_HELP },
  "gen-config": { run: genConfigCommand, help: GEN_CONFIG_HELP },
  "gen-key": { run: genKeyCommand, help: GEN_KEY_HELP },
  validate: { run: validateCommand, help: VALIDATE_HELP },
};

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? io.stderr : io.stdout)(MAIN_HELP);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    io.stderr(`secure-redis: unknown command "${name}"\n\n${MAIN_HELP}`);
    return EXIT.usage;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigurationError) {
      io.stderr(`secure-redis ${name}: ${error.message}\nRun secure-redis ${name} --help for usage.\n`);
      return EXIT.usage;
    }
    // Our errors never carry secrets; the stack is left out (it helps nobody running a CLI).
    io.stderr(`secure-redis ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.findings;
  }
}
