/**
 * The Redis ACL file, rendered from the one command list in
 * lib/redis/commands.ts.
 *
 * Passwords appear as `#<sha256 hex>`, never as `>plaintext`: Redis itself
 * keeps only SHA-256 hashes, so nothing is lost, and the file on the volume
 * (and any backup or `ACL SAVE` of it) holds no usable password. Unsalted
 * SHA-256 is not a weakness here because every password carries at least
 * 96 random bits (lib/config/tiers.ts); nobody can enumerate that space.
 *
 * Each user may hold two passwords, current and previous, so that a rotation
 * never cuts off a client that has not restarted yet.
 *
 * The Redis ACL file format has no comments: every line starts with `user`.
 */
import { createHash } from "node:crypto";
import { APP_COMMANDS, HEALTHCHECK_COMMANDS } from "../lib/redis/commands.js";
import type { AclUser } from "./config.js";
import { compareVersions, type RedisVersion } from "./redis-version.js";

/**
 * Commands of APP_COMMANDS that older servers do not know, with the release
 * that added them. Naming an unknown command makes Redis reject the whole
 * file at start (and `ACL SETUSER` reject the line), so these are left out for older servers (whose clients never send
 * them: ioredis sends CLIENT SETINFO only where it exists, and ignores the
 * error otherwise).
 */
export const COMMANDS_SINCE: Readonly<Record<string, RedisVersion>> = {
  "client|setinfo": { major: 7, minor: 2 },
};

export interface AclFileInput {
  /** The app user's key namespace: it may touch `<namespace>:*` only. */
  keyNamespace: string;
  /** Each user's password hashes (`aclPasswordHash`), current first; at least one each. */
  passwordHashes: Readonly<Record<AclUser, readonly string[]>>;
  /** The server the file is for; decides which commands it knows. */
  serverVersion: RedisVersion;
}

/** `#` + the SHA-256 of the password in lower-case hex: the form an ACL file accepts instead of `>password`. */
export function aclPasswordHash(password: string): string {
  return `#${createHash("sha256").update(password, "utf8").digest("hex")}`;
}

const HASH = /^#[0-9a-f]{64}$/;

/** The commands the app user gets on this server version. */
export function appCommandsFor(version: RedisVersion): string[] {
  return APP_COMMANDS.filter((command) => {
    const since = COMMANDS_SINCE[command];
    return since === undefined || compareVersions(version, since) >= 0;
  });
}

function passwords(user: AclUser, hashes: readonly string[] | undefined): string {
  if (hashes === undefined || hashes.length === 0) {
    throw new Error(`renderAclFile: the ${user} user needs at least one password hash`);
  }
  hashes.forEach((hash, index) => {
    // The message names the position only: a malformed "hash" could be a plaintext password.
    if (!HASH.test(hash))
      throw new Error(`renderAclFile: ${user} password hash ${index + 1} is not #<sha256 hex>`);
  });
  return hashes.join(" ");
}

/**
 * One line per user:
 * - `default`: off, no password, no keys, no commands: an unauthenticated
 *   connection can run nothing but AUTH/HELLO, and `default` cannot log in.
 * - `app`: its namespace only (no pub/sub channels), exactly APP_COMMANDS.
 * - `healthcheck`: exactly HEALTHCHECK_COMMANDS, no keys, no channels.
 * - `admin`: operations (ACL SETUSER, CONFIG SET, INFO, ...) on everything;
 *   DEBUG and MODULE stay closed by the server arguments.
 */
export function renderAclFile(input: AclFileInput): string {
  const { keyNamespace, passwordHashes, serverVersion } = input;
  const appCommands = appCommandsFor(serverVersion)
    .map((command) => `+${command}`)
    .join(" ");
  const healthCommands = HEALTHCHECK_COMMANDS.map((command) => `+${command}`).join(" ");
  const lines = [
    "user default off resetpass resetkeys resetchannels -@all",
    `user app on ${passwords("app", passwordHashes.app)} resetkeys ~${keyNamespace}:* resetchannels -@all ${appCommands}`,
    `user healthcheck on ${passwords("healthcheck", passwordHashes.healthcheck)} resetkeys resetchannels -@all ${healthCommands}`,
    `user admin on ${passwords("admin", passwordHashes.admin)} ~* &* +@all`,
  ];
  return `${lines.join("\n")}\n`;
}
