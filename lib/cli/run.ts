/**
 * The `secure-redis` command: dispatch, help and exit codes. Runs in-process
 * (tests call `runCli` with captured output); main.ts is the executable.
 */
import { ConfigurationError } from "../errors.js";
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

type Command = (args: readonly string[], io: CliIo) => number | Promise<number>;

/**
 * Each command is imported when it runs: `gen-key` should not pay for ioredis,
 * zod and the zxcvbn dictionaries (about 0.2 s of a 0.35 s start).
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  audit: async () => (await import("./commands/audit.js")).auditCommand,
  "gen-config": async () => (await import("./commands/gen-config.js")).genConfigCommand,
  "gen-key": async () => (await import("./commands/gen-key.js")).genKeyCommand,
  validate: async () => (await import("./commands/validate.js")).validateCommand,
};

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? io.stderr : io.stdout)(MAIN_HELP);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (load === undefined) {
    io.stderr(`secure-redis: unknown command "${name}"\n\n${MAIN_HELP}`);
    return EXIT.usage;
  }
  try {
    const command = await load();
    return await command(args, io);
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
