/**
 * ACL files for tests, built from the library's own command list, filtered
 * the way infra/ renders it for the server's version, so that a test server
 * grants the app exactly what a deployment would.
 */
import { appCommandsFor } from "../../infra/acl.js";

/** The Redis the tests run (Debian 12's redis-server). */
const TEST_SERVER_VERSION = { major: 7, minor: 0 } as const;

/** `user <name> on >password` with exactly the app commands (as Redis 7.0 knows them) on every key. */
export function appUserAcl(name: string, password: string): string {
  const commands = appCommandsFor(TEST_SERVER_VERSION);
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
