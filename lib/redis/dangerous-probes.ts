/**
 * For each of DANGEROUS_COMMANDS, arguments that make a well-formed command
 * for `ACL DRYRUN <user> <command> <args...>` (DRYRUN checks arity, and for
 * commands with subcommands the subcommand decides the ACL rule). DRYRUN only
 * simulates the permission check: nothing here is ever executed.
 *
 * Where a command has subcommands, the probe uses the most harmful one (CONFIG
 * SET, MODULE LOAD, ACL SETUSER, CLIENT KILL, ...): that is the permission
 * that matters.
 */
import type { DANGEROUS_COMMANDS } from "./commands.js";

type DangerousCommand = (typeof DANGEROUS_COMMANDS)[number];

export const DANGEROUS_PROBES: Readonly<Record<DangerousCommand, readonly string[]>> = {
  flushall: [],
  flushdb: [],
  keys: ["*"],
  config: ["set", "maxmemory", "0"],
  debug: ["sleep", "0"],
  shutdown: [],
  module: ["load", "/nonexistent"],
  acl: ["setuser", "secure-redis-probe"],
  monitor: [],
  replicaof: ["no", "one"],
  slaveof: ["no", "one"],
  sync: [],
  psync: ["?", "-1"],
  save: [],
  bgsave: [],
  bgrewriteaof: [],
  migrate: ["127.0.0.1", "1", "k", "0", "1"],
  restore: ["k", "0", "x"],
  dump: ["k"],
  swapdb: ["0", "1"],
  move: ["k", "1"],
  select: ["0"],
  cluster: ["info"],
  failover: [],
  function: ["flush"],
  script: ["flush"],
  client: ["kill", "id", "0"],
  latency: ["reset"],
  slowlog: ["reset"],
  info: [],
  lastsave: [],
  object: ["encoding", "k"],
  memory: ["usage", "k"],
  pubsub: ["channels"],
  publish: ["c", "m"],
  subscribe: ["c"],
  psubscribe: ["c*"],
  eval_ro: ["return 1", "0"],
  evalsha_ro: ["0000000000000000000000000000000000000000", "0"],
  fcall: ["f", "0"],
  fcall_ro: ["f", "0"],
  sort: ["k"],
  wait: ["0", "0"],
};

/**
 * Commands that destroy data, reconfigure or stop the server, copy the data
 * set elsewhere, or load code: each one of them allowed is critical. The rest
 * of DANGEROUS_COMMANDS (INFO, PUBLISH, SELECT, ...) is high.
 */
export const CRITICAL_DANGEROUS_COMMANDS: ReadonlySet<string> = new Set<DangerousCommand>([
  "flushall",
  "flushdb",
  "config",
  "debug",
  "shutdown",
  "module",
  "acl",
  "replicaof",
  "slaveof",
  "sync",
  "psync",
  "migrate",
  "restore",
  "swapdb",
  "function",
  "script",
  "monitor",
  "keys",
  "failover",
]);
