/**
 * The Redis commands secure-redis needs, and the ones nobody but an operator
 * should have. One list serves the ACL that infra/ renders, the live audit
 * that checks a running server, and the library that must stay within it:
 * if the cache starts using a command, it is added here and the ACL follows.
 *
 * Names are lower case, with `|` for subcommands, as in Redis ACL rules.
 */

/** What the app user runs: the cache (get/set/scan/unlink, Lua compare-and-set) and the client (health check). */
export const APP_COMMANDS = [
  "get",
  "set",
  "mget",
  "del",
  "unlink",
  "exists",
  "ttl",
  "pttl",
  "expire",
  "pexpire",
  "scan",
  "eval", // compare-and-set of the re-encryption job (EVALSHA first, EVAL when the script is not cached)
  "evalsha",
  "ping",
  "echo",
  "client|setname",
  "client|setinfo", // sent by ioredis at connect on Redis >= 7.2
] as const;

/** What the container health check runs, and nothing else (no key access). */
export const HEALTHCHECK_COMMANDS = ["ping"] as const;

/**
 * Commands an application user must never be able to run: they destroy
 * data, change or reveal the server's configuration, read every key name,
 * replicate or dump the data set elsewhere, or load code into the server.
 */
export const DANGEROUS_COMMANDS = [
  "flushall",
  "flushdb",
  "keys",
  "config",
  "debug",
  "shutdown",
  "module",
  "acl",
  "monitor",
  "replicaof",
  "slaveof",
  "sync",
  "psync",
  "save",
  "bgsave",
  "bgrewriteaof",
  "migrate",
  "restore",
  "dump",
  "swapdb",
  "move",
  "select",
  "cluster",
  "failover",
  "function",
  "script", // SCRIPT FLUSH/KILL; EVAL/EVALSHA do not need it
  "client", // CLIENT KILL/PAUSE/LIST; the two harmless subcommands are allowed above
  "latency",
  "slowlog",
  "info",
  "lastsave",
  "object",
  "memory",
  "pubsub",
  "publish",
  "subscribe",
  "psubscribe",
  "eval_ro",
  "evalsha_ro",
  "fcall",
  "fcall_ro",
  "sort", // SORT ... BY/GET reads keys outside the namespace
  "wait",
] as const;

export type AppCommand = (typeof APP_COMMANDS)[number];
