/**
 * The redis-server command line. It holds no secret (the ACL and the TLS
 * material are files on the configuration volume), so it can live in the
 * container's `command`, where `docker inspect` shows it for review; a change
 * to it replaces the container, which is right for settings Redis reads only
 * at start.
 *
 * Rendered as options (`[name, ...values]`) so that tests can load the same
 * settings into a real redis-server while the test harness keeps the ports.
 */
import type { RedisPersistence } from "../lib/config/tiers.js";
import type { EvictionPolicy } from "./config.js";

export interface RedisServerTls {
  certFile: string;
  keyFile: string;
  caFile: string;
  /** Mutual TLS: clients must present a certificate issued by the CA. */
  authClients: boolean;
}

export interface RedisServerSettings {
  /** The one port Redis listens on: the TLS port when `tls` is set (the plaintext port is then 0). */
  port: number;
  tls: RedisServerTls | undefined;
  aclFile: string;
  dataDir: string;
  maxmemoryMb: number;
  evictionPolicy: EvictionPolicy;
  persistence: RedisPersistence;
}

/** One redis-server option: its name (without `--`) and its values. */
export type RedisOption = readonly [name: string, ...values: string[]];

/** TLS versions Redis accepts: 1.2 for older clients, 1.3 preferred; 1.0 and 1.1 are broken. */
export const TLS_PROTOCOLS = "TLSv1.2 TLSv1.3";
/**
 * TLS 1.2 cipher suites: forward-secret ECDHE with AEAD only (no CBC, no RSA
 * key exchange). TLS 1.3 suites are all AEAD and keep OpenSSL's defaults.
 */
export const TLS12_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

/** Redis's own default snapshot rules (after 1 h / 1 change, 5 min / 100, 1 min / 10000). */
export const RDB_SAVE_RULES = ["3600", "1", "300", "100", "60", "10000"] as const;

function persistenceOptions(mode: RedisPersistence): RedisOption[] {
  switch (mode) {
    case "none":
      // `--save` followed by another option means "no snapshots" (an empty string cannot be
      // passed: the Docker provider rejects empty command elements).
      return [["save"], ["appendonly", "no"]];
    case "rdb":
      return [
        ["save", ...RDB_SAVE_RULES],
        ["appendonly", "no"],
      ];
    case "aof":
      return [["save"], ["appendonly", "yes"], ["appendfsync", "everysec"]];
  }
}

export function renderRedisServerOptions(settings: RedisServerSettings): RedisOption[] {
  const { tls } = settings;
  const listen: RedisOption[] =
    tls === undefined
      ? [["port", String(settings.port)]]
      : [
          ["port", "0"],
          ["tls-port", String(settings.port)],
          ["tls-cert-file", tls.certFile],
          ["tls-key-file", tls.keyFile],
          ["tls-ca-cert-file", tls.caFile],
          ["tls-auth-clients", tls.authClients ? "yes" : "no"],
          ["tls-protocols", TLS_PROTOCOLS],
          ["tls-ciphers", TLS12_CIPHERS],
          ["tls-prefer-server-ciphers", "yes"],
        ];
  return [
    // Every interface of the container; only the internal network reaches it. `-::*` is
    // optional IPv6 (skipped where the network has none).
    ["bind", "*", "-::*"],
    ...listen,
    ["protected-mode", "yes"],
    ["enable-debug-command", "no"],
    ["enable-module-command", "no"],
    ["enable-protected-configs", "no"],
    ["aclfile", settings.aclFile],
    ["maxmemory", `${settings.maxmemoryMb}mb`],
    ["maxmemory-policy", settings.evictionPolicy],
    ["dir", settings.dataDir],
    // Persistence options come before at least one other option: a bare `--save` must be
    // followed by another `--option` to mean "no snapshots".
    ...persistenceOptions(settings.persistence),
    // Logs go to stdout (the default logfile), where `docker logs` finds them.
    ["daemonize", "no"],
    ["loglevel", "notice"],
  ];
}

/** Options as a redis-server argument vector (`--name value ...`). */
export function toArgv(options: readonly RedisOption[]): string[] {
  return options.flatMap(([name, ...values]) => [`--${name}`, ...values]);
}

/** The container command: `redis-server` and its options. */
export function renderRedisServerCommand(settings: RedisServerSettings): string[] {
  return ["redis-server", ...toArgv(renderRedisServerOptions(settings))];
}
