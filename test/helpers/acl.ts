/**
 * ACL files for tests, built from the library's own command lists so that a
 * test server grants the app exactly what production would.
 */
import { APP_COMMANDS } from "../../lib/redis/commands.js";

/**
 * Commands of APP_COMMANDS that Redis 7.0 does not know: an ACL file naming
 * one aborts a 7.0 server at startup ("Unknown command or category name in
 * ACL"), so the 7.0 test servers leave them out. (CLIENT SETINFO arrived in 7.2.)
 */
const UNKNOWN_TO_REDIS_7_0 = new Set<string>(["client|setinfo"]);

/** `user <name> on >password` with exactly APP_COMMANDS (as far as Redis 7.0 knows them) on every key. */
export function appUserAcl(name: string, password: string): string {
  const commands = APP_COMMANDS.filter((cmd) => !UNKNOWN_TO_REDIS_7_0.has(cmd));
  return `user ${name} on >${password} ~* &* -@all ${commands.map((cmd) => `+${cmd}`).join(" ")}`;
}

/** An operator with every command. */
export function adminUserAcl(name: string, password: string): string {
  return `user ${name} on >${password} ~* &* +@all`;
}

/** A hardened ACL file: default user off, the given user lines. */
export function hardenedAcl(...users: string[]): string {
  return ["user default off", ...users, ""].join("\n");
}
