import { Fernet } from "../../crypto/fernet.js";
import { flag, parseCommandArgs } from "../args.js";
import { json } from "../format.js";
import { EXIT, type CliIo } from "../io.js";

export const GEN_KEY_HELP = `Usage: secure-redis gen-key [--json]

Prints a new Fernet key (32 random bytes, URL-safe base64, 44 characters),
usable as REDIS_ENCRYPTION_KEYS or REDIS_CACHE_KEY_SECRET and by any Fernet
implementation (Python's cryptography.fernet included). The key is printed
because you asked for it: put it straight into a secret store or a 0600 file.

Options:
  --json       print {"key": "..."}
  -h, --help   show this help

Exit codes: 0 success; 2 usage error.
`;

export function genKeyCommand(args: readonly string[], io: CliIo): number {
  const parsed = parseCommandArgs(args, { json: { type: "boolean" } }, 0);
  if (flag(parsed, "help")) {
    io.stdout(GEN_KEY_HELP);
    return EXIT.ok;
  }
  const key = Fernet.generateKey();
  io.stdout(flag(parsed, "json") ? json({ key }) : `${key}\n`);
  return EXIT.ok;
}
