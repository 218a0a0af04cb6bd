/**
 * The live audit: connects to a running Redis with the credentials and TLS
 * options given and reports what is wrong with it, as findings in the
 * validator's shape (config/findings.ts).
 *
 * Two steps, kept apart so the judgement can be tested without a server:
 * `gatherAuditFacts` talks to Redis (read-only: PING, HELLO, CONFIG GET,
 * ACL GETUSER, ACL DRYRUN; nothing is written or executed), and
 * `evaluateAudit` turns the facts into findings.
 *
 * What cannot be checked with the connecting user's rights (CONFIG, ACL) is
 * reported as "unknown" (info findings), never guessed.
 */
import type { X509Certificate } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { TLSSocket } from "node:tls";
import { Redis, type RedisOptions } from "ioredis";
import { certificateValidityFindings } from "../config/certificates.js";
import { hasCritical, scoreFindings, sortFindings, type Finding } from "../config/findings.js";
import { parseRedisUrl } from "../config/redis-url.js";
import type { Secret } from "../config/secret.js";
import { tierFor, type Environment, type TierPolicy } from "../config/tiers.js";
import { DANGEROUS_COMMANDS } from "./commands.js";
import { CRITICAL_DANGEROUS_COMMANDS, DANGEROUS_PROBES } from "./dangerous-probes.js";
import { disconnectQuietly } from "./disconnect.js";
import { describeTlsFailure, errorCode } from "./tls-errors.js";

/** What `secure-redis audit` with no URL audits: the local default. */
export const DEFAULT_AUDIT_URL = "redis://127.0.0.1:6379";
const DEFAULT_TIMEOUT_MS = 5_000;
/** Redis 6 introduced ACL users; anything older has one shared password at best. */
const FIRST_ACL_MAJOR = 6;

export interface AuditTlsOptions {
  /** CA certificate(s), PEM, that must have signed the server certificate. */
  ca?: string;
  /** Client certificate and key, PEM (servers with mutual TLS). */
  cert?: string;
  key?: Secret;
  /** Name to verify the certificate against (and send as SNI); default: the URL host. */
  servername?: string;
}

export interface AuditOptions {
  /** redis:// or rediss:// URL (default redis://127.0.0.1:6379). A password in it is used, never shown. */
  url?: string;
  username?: string;
  password?: Secret;
  tls?: AuditTlsOptions;
  /** Whose permissions the dangerous-command check examines (default: the connecting user). */
  checkUser?: string;
  /** Tier whose certificate renewal window applies (default production). */
  environment?: Environment;
  /** Connect and command timeout in ms (default 5000). */
  timeoutMs?: number;
  /** Clock for certificate checks (tests). */
  now?: number;
}

/** Facts gathered from the server; `undefined` means "could not be determined". */
export interface AuditFacts {
  target: { display: string; tls: boolean; host: string; port: number };
  /** The user the audit authenticated as ("default" without credentials). */
  user: string;
  /** Whether a connection without credentials could run PING. */
  unauthenticatedAccess: "allowed" | "denied" | undefined;
  /** Set when the audit could not connect or authenticate as asked; nothing else is then known. */
  connectionFailure:
    { kind: "tls" | "auth" | "network"; code: string | undefined; detail: string; fix: string } | undefined;
  serverVersion: string | undefined;
  tls: { protocol: string | null; certificate: X509Certificate | undefined } | undefined;
  /** CONFIG GET values, or why they could not be read. */
  config: Record<string, string> | { unreadable: string };
  /** The default user's flags, or why they could not be read. */
  defaultUser: { enabled: boolean; nopass: boolean } | { unreadable: string };
  /** Dangerous commands `user` may run, or why that could not be determined. */
  dangerousCommands:
    | {
        user: string;
        /** Commands the user may run (a key- or channel-scoped permission counts: the command is open to it). */
        allowed: string[];
        /** Those of `allowed` that only work on the keys or channels the user's patterns match. */
        scoped: string[];
      }
    | { user: string; unreadable: string };
}

export interface AuditReport {
  /** The URL audited, without any password. */
  target: string;
  user: string;
  environment: Environment;
  /** False when the audit could not connect or authenticate: its findings then say why, nothing more. */
  complete: boolean;
  serverVersion: string | undefined;
  tls:
    | {
        protocol: string | null;
        certificateValidTo: string | undefined;
        certificateSubject: string | undefined;
      }
    | undefined;
  findings: Finding[];
  score: number;
  critical: boolean;
  durationMs: number;
}

/** Audits the Redis at `opts.url`. Never throws for what the server does; only for a malformed URL. */
export async function auditRedis(opts: AuditOptions = {}): Promise<AuditReport> {
  const started = performance.now();
  const environment = opts.environment ?? "production";
  const facts = await gatherAuditFacts(opts);
  const findings = sortFindings(evaluateAudit(facts, tierFor(environment), opts.now ?? Date.now()));
  const certificate = facts.tls?.certificate;
  return {
    target: facts.target.display,
    user: facts.user,
    environment,
    complete: facts.connectionFailure === undefined,
    serverVersion: facts.serverVersion,
    tls:
      facts.tls === undefined
        ? undefined
        : {
            protocol: facts.tls.protocol,
            certificateValidTo:
              certificate === undefined ? undefined : new Date(certificate.validTo).toISOString(),
            certificateSubject: certificate?.subject.replace(/\n/g, ", "),
          },
    findings,
    score: scoreFindings(findings),
    critical: hasCritical(findings),
    durationMs: Math.round(performance.now() - started),
  };
}

// --- gathering -----------------------------------------------------------------------------------

type Connection = { client: Redis } | { error: unknown };

export async function gatherAuditFacts(opts: AuditOptions): Promise<AuditFacts> {
  const url = parseRedisUrl(opts.url ?? DEFAULT_AUDIT_URL, "url");
  const username = opts.username ?? url.username;
  const password = opts.password ?? url.password;
  const user = username ?? "default";
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const facts: AuditFacts = {
    target: { display: url.display, tls: url.tls, host: url.host, port: url.port },
    user,
    unauthenticatedAccess: undefined,
    connectionFailure: undefined,
    serverVersion: undefined,
    tls: undefined,
    config: { unreadable: "not connected" },
    defaultUser: { unreadable: "not connected" },
    dangerousCommands: { user: opts.checkUser ?? user, unreadable: "not connected" },
  };
  const base = { host: url.host, port: url.port, db: url.db, tls: url.tls, timeoutMs, tlsOptions: opts.tls };

  // The anonymous probe sends nothing secret (no credentials, only PING), so it does not need to
  // verify the certificate: it answers "can anyone run commands?" even when the CA is unknown.
  const anonymous = await openConnection({ ...base, verify: false });
  if ("client" in anonymous) {
    facts.unauthenticatedAccess = await anonymous.client.ping().then(
      () => "allowed" as const,
      (error: unknown) => (/^NOAUTH/.test(message(error)) ? ("denied" as const) : undefined),
    );
  }

  // The session verifies the certificate (it may send a password and it reads the server's
  // settings). Without credentials it authenticates as nobody: its commands then fail with
  // NOAUTH unless anonymous access is allowed, and those checks are reported as unknown.
  const session = await openConnection({ ...base, verify: true, username, password: password?.reveal() });
  if ("client" in anonymous) disconnectQuietly(anonymous.client);

  if ("error" in session) {
    facts.connectionFailure = classifyFailure(session.error);
    return facts;
  }
  try {
    await readServerFacts(session.client, facts);
  } finally {
    disconnectQuietly(session.client);
  }
  return facts;
}

async function readServerFacts(client: Redis, facts: AuditFacts): Promise<void> {
  if (facts.target.tls) {
    const socket = client.stream as TLSSocket;
    facts.tls = { protocol: socket.getProtocol(), certificate: socket.getPeerX509Certificate() };
  }
  // HELLO without arguments answers for any user (it is exempt from ACL checks) and names the version.
  const hello = await client.call("HELLO").catch(() => undefined);
  facts.serverVersion = pairs(hello).get("version")?.toString();

  const config = await client
    .call(
      "CONFIG",
      "GET",
      "port",
      "tls-port",
      "protected-mode",
      "bind",
      "enable-debug-command",
      "enable-module-command",
    )
    .then(
      (reply) => Object.fromEntries([...pairs(reply)].map(([key, value]) => [key, String(value)])),
      (error: unknown) => ({ unreadable: permissionReason(error, "CONFIG GET") }),
    );
  facts.config = config;

  facts.defaultUser = await client.call("ACL", "GETUSER", "default").then(
    (reply) => {
      // Only the flags are read; the reply also holds password hashes, which are never kept.
      const flags = (pairs(reply).get("flags") as unknown[] | undefined)?.map(String) ?? [];
      return { enabled: flags.includes("on"), nopass: flags.includes("nopass") };
    },
    (error: unknown) => ({ unreadable: permissionReason(error, "ACL GETUSER") }),
  );

  facts.dangerousCommands = await dryRunDangerousCommands(client, facts.dangerousCommands.user);
}

/** ACL DRYRUN for each dangerous command: simulated permission checks, nothing runs. */
async function dryRunDangerousCommands(
  client: Redis,
  user: string,
): Promise<AuditFacts["dangerousCommands"]> {
  const pipeline = client.pipeline();
  for (const command of DANGEROUS_COMMANDS)
    pipeline.call("ACL", "DRYRUN", user, command, ...DANGEROUS_PROBES[command]);
  const replies = (await pipeline.exec()) ?? [];
  const allowed: string[] = [];
  const scoped: string[] = [];
  for (const [index, [error, reply]] of replies.entries()) {
    const command = DANGEROUS_COMMANDS[index]!;
    if (error !== null) {
      const text = message(error);
      if (/^ERR User .* not found/i.test(text))
        return { user, unreadable: `the user "${user}" does not exist` };
      // The connecting user may not run ACL DRYRUN (or the server predates Redis 7): unknown, not guessed.
      return { user, unreadable: permissionReason(error, "ACL DRYRUN") };
    }
    const text = String(reply);
    if (text === "OK") {
      allowed.push(command);
    } else if (/no permissions to access the .* (key|channel)/i.test(text)) {
      // The command is granted; only the probe's key or channel name fell outside the user's patterns.
      allowed.push(command);
      scoped.push(command);
    } else if (!/no permissions to run/i.test(text)) {
      return { user, unreadable: `unexpected ACL DRYRUN reply for ${command}` };
    }
  }
  return { user, allowed, scoped };
}

interface ConnectionOptions {
  host: string;
  port: number;
  db: number;
  tls: boolean;
  tlsOptions: AuditTlsOptions | undefined;
  timeoutMs: number;
  verify: boolean;
  username?: string | undefined;
  password?: string | undefined;
}

/** One connection, one attempt, no retries; resolves with the client or the real cause of failure. */
async function openConnection(opts: ConnectionOptions): Promise<Connection> {
  const options: RedisOptions = {
    host: opts.host,
    port: opts.port,
    db: opts.db,
    lazyConnect: true,
    protocol: 2, // plain AUTH, no HELLO 3 handshake: the fewest commands for an audit
    enableReadyCheck: false,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: opts.timeoutMs,
    commandTimeout: opts.timeoutMs,
    disableClientInfo: true,
    maintNotifications: "disabled",
  };
  if (opts.username !== undefined) options.username = opts.username;
  if (opts.password !== undefined) options.password = opts.password;
  if (opts.tls) {
    const tls = opts.tlsOptions ?? {};
    options.tls = {
      minVersion: "TLSv1.2",
      rejectUnauthorized: opts.verify,
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      ...(tls.servername === undefined ? {} : { servername: tls.servername }),
      ...(tls.cert === undefined ? {} : { cert: tls.cert }),
      ...(tls.key === undefined ? {} : { key: tls.key.reveal() }),
    };
  }
  const client = new Redis(options);
  let lastError: unknown;
  client.on("error", (error: unknown) => {
    lastError = error;
  });
  try {
    await client.connect();
    return { client };
  } catch (error) {
    disconnectQuietly(client);
    // ioredis rejects with a generic "Connection is closed"; the error event holds the cause.
    return { error: lastError ?? error };
  }
}

function classifyFailure(error: unknown): NonNullable<AuditFacts["connectionFailure"]> {
  const text = message(error);
  const code = errorCode(error);
  if (/^(WRONGPASS|NOAUTH)/.test(text)) {
    return {
      kind: "auth",
      code: text.split(" ")[0],
      detail: /^NOAUTH/.test(text)
        ? "the server requires authentication and no credentials were given"
        : "the credentials were refused",
      fix: "pass --user and --password-file for a user of this server",
    };
  }
  const tls = describeTlsFailure(error);
  if (tls !== undefined) return { kind: "tls", code: tls.code, detail: tls.detail, fix: tls.fix };
  return {
    kind: "network",
    code,
    detail:
      code === undefined ? "the server closed the connection before it was ready" : "the connection failed",
    fix:
      code === undefined
        ? "if the server speaks TLS only, audit a rediss:// URL (with --tls-ca); with mutual TLS also pass --tls-cert and --tls-key"
        : "check that Redis runs there and the host and port are right",
  };
}

// --- judging -------------------------------------------------------------------------------------

/** The findings for a set of facts. Pure: the same facts (and `now`) always give the same findings. */
export function evaluateAudit(facts: AuditFacts, policy: TierPolicy, now: number): Finding[] {
  const findings: Finding[] = [];
  const anonymous = facts.unauthenticatedAccess === "allowed";
  if (anonymous) {
    findings.push({
      id: "audit.unauthenticated-access",
      severity: "critical",
      message: `anyone who reaches ${facts.target.display} can run commands without a password`,
      remediation:
        "Disable the default user (ACL SETUSER default off) and create named ACL users with passwords.",
    });
  }
  if (facts.connectionFailure !== undefined) {
    findings.push(...connectionFailureFindings(facts.connectionFailure, facts.target.display));
    return findings;
  }
  findings.push(...transportFindings(facts, policy, now));
  findings.push(...configFindings(facts, anonymous));
  findings.push(...defaultUserFindings(facts));
  findings.push(...dangerousCommandFindings(facts));
  findings.push(...versionFindings(facts));
  return findings;
}

function connectionFailureFindings(
  failure: NonNullable<AuditFacts["connectionFailure"]>,
  target: string,
): Finding[] {
  if (failure.code === "CERT_HAS_EXPIRED") {
    return [
      {
        id: "audit.tls-certificate-expired",
        severity: "critical",
        message: `${target}: ${failure.detail}; every client that verifies certificates is locked out`,
        remediation: failure.fix,
      },
    ];
  }
  const id = {
    tls: "audit.tls-handshake-failed",
    auth: "audit.auth-failed",
    network: "audit.connection-failed",
  }[failure.kind];
  return [
    {
      id,
      severity: "high",
      message: `the audit could not ${failure.kind === "auth" ? "authenticate to" : "connect to"} ${target}: ${failure.detail}${failure.code === undefined ? "" : ` (${failure.code})`}`,
      remediation: failure.fix,
    },
  ];
}

function transportFindings(facts: AuditFacts, policy: TierPolicy, now: number): Finding[] {
  const findings: Finding[] = [];
  const config = "unreadable" in facts.config ? undefined : facts.config;
  const plainPort = config === undefined ? undefined : Number(config.port);
  const tlsPort = config === undefined ? undefined : Number(config["tls-port"]);
  if (!facts.target.tls) {
    findings.push({
      id: tlsPort !== undefined && tlsPort > 0 ? "audit.plaintext-port-open" : "audit.plaintext",
      severity: "critical",
      message:
        tlsPort !== undefined && tlsPort > 0
          ? `a plaintext port is open (${facts.target.port}) while TLS is served on ${tlsPort}: clients can bypass TLS`
          : `${facts.target.display} speaks plaintext: passwords and cached data cross the network readable by anyone on the path`,
      remediation:
        "Serve TLS only: tls-port 6379, port 0, with tls-cert-file, tls-key-file and tls-ca-cert-file.",
    });
  } else if (plainPort !== undefined && plainPort > 0) {
    findings.push({
      id: "audit.plaintext-port-open",
      severity: "critical",
      message: `a plaintext port is open (${plainPort}) while TLS is served on ${facts.target.port}: clients can bypass TLS`,
      remediation: "Set port 0 so that only the TLS port accepts connections.",
    });
  }
  if (facts.tls !== undefined) {
    const protocol = facts.tls.protocol ?? "unknown";
    if (protocol !== "TLSv1.2" && protocol !== "TLSv1.3") {
      findings.push({
        id: "audit.tls-version",
        severity: "high",
        message: `the server negotiated ${protocol}; TLS 1.2 is the minimum`,
        remediation: 'Set tls-protocols "TLSv1.2 TLSv1.3" on the server.',
      });
    }
    if (facts.tls.certificate !== undefined) {
      findings.push(
        ...certificateValidityFindings(
          facts.tls.certificate,
          "server certificate",
          policy.certificate,
          now,
          "audit.tls",
        ),
      );
    }
  }
  return findings;
}

const ALL_INTERFACES = new Set(["*", "0.0.0.0", "::", "::*", "-::*"]);

function configFindings(facts: AuditFacts, anonymous: boolean): Finding[] {
  if ("unreadable" in facts.config) {
    return [
      unknownCheck(
        "audit.unknown.config",
        "plaintext port, protected-mode, bind, debug and module commands",
        facts.config.unreadable,
        "CONFIG GET",
      ),
    ];
  }
  const findings: Finding[] = [];
  const config = facts.config;
  if (config["protected-mode"] === "no") {
    findings.push({
      id: "audit.protected-mode-off",
      // Protected mode is the safety net for exactly the unauthenticated case.
      severity: anonymous ? "critical" : "medium",
      message: anonymous
        ? "protected-mode is off and no password is required: whoever reaches the port owns the data"
        : "protected-mode is off (it guards a server left without a password)",
      remediation: "Set protected-mode yes, and require authentication.",
    });
  }
  const bind = (config.bind ?? "").trim();
  const addresses = bind === "" ? ["*"] : bind.split(/\s+/);
  if (addresses.some((address) => ALL_INTERFACES.has(address))) {
    findings.push({
      id: "audit.bind-all-interfaces",
      severity: "high",
      message: `Redis listens on all interfaces (bind "${bind || "(none)"}")`,
      remediation:
        "Bind to the loopback or internal-network address only (bind 127.0.0.1 or the private IP), and keep the port off public networks.",
    });
  }
  for (const [setting, id, what] of [
    ["enable-debug-command", "audit.debug-command-enabled", "DEBUG"],
    ["enable-module-command", "audit.module-command-enabled", "MODULE"],
  ] as const) {
    const value = config[setting];
    if (value === "yes" || value === "local") {
      findings.push({
        id,
        severity: value === "yes" ? "high" : "low",
        message: `${setting} is ${value}: ${what} can ${what === "DEBUG" ? "crash the server or read memory" : "load native code into the server"}${value === "local" ? " from local connections" : ""}`,
        remediation: `Set ${setting} no (the default) in the server configuration.`,
      });
    }
  }
  return findings;
}

function defaultUserFindings(facts: AuditFacts): Finding[] {
  if ("unreadable" in facts.defaultUser) {
    // Anonymous access already proves the default user is on without a password.
    if (facts.unauthenticatedAccess === "allowed") return [];
    return [
      unknownCheck(
        "audit.unknown.default-user",
        "whether the default user is enabled",
        facts.defaultUser.unreadable,
        "ACL GETUSER",
      ),
    ];
  }
  if (!facts.defaultUser.enabled) return [];
  return [
    facts.defaultUser.nopass
      ? {
          id: "audit.default-user-nopass",
          severity: "critical",
          message:
            "the default user is enabled with nopass: connections are authenticated without any password",
          remediation: "ACL SETUSER default off (and persist it in the ACL file).",
        }
      : {
          id: "audit.default-user-enabled",
          severity: "medium",
          message: "the default user is enabled (it has a password): a shared, unnamed login",
          remediation: "Give every client a named ACL user, then ACL SETUSER default off.",
        },
  ];
}

function dangerousCommandFindings(facts: AuditFacts): Finding[] {
  const result = facts.dangerousCommands;
  if ("unreadable" in result) {
    return [
      unknownCheck(
        "audit.unknown.dangerous-commands",
        `which dangerous commands "${result.user}" may run`,
        result.unreadable,
        "ACL DRYRUN",
        `or audit as an admin with --check-user ${result.user}`,
      ),
    ];
  }
  if (result.allowed.length === 0) return [];
  const critical = result.allowed.some((command) => CRITICAL_DANGEROUS_COMMANDS.has(command));
  return [
    {
      id: "audit.dangerous-commands-allowed",
      severity: critical ? "critical" : "high",
      message:
        `the user "${result.user}" may run ${result.allowed.length} dangerous commands: ${result.allowed.map((c) => c.toUpperCase()).join(", ")}` +
        (result.scoped.length === 0
          ? ""
          : ` (${result.scoped.map((c) => c.toUpperCase()).join(", ")} on the keys or channels its patterns allow)`),
      remediation: `Restrict the user to the commands it needs (ACL SETUSER ${result.user} -@all +get +set ...; secure-redis lists them in APP_COMMANDS).`,
    },
  ];
}

function versionFindings(facts: AuditFacts): Finding[] {
  if (facts.serverVersion === undefined) return [];
  const major = Number(facts.serverVersion.split(".")[0]);
  if (Number.isFinite(major) && major < FIRST_ACL_MAJOR) {
    return [
      {
        id: "audit.server-outdated",
        severity: "high",
        message: `Redis ${facts.serverVersion} predates ACL users (Redis 6) and no longer gets security fixes`,
        remediation: "Upgrade to a supported Redis (7.x).",
      },
    ];
  }
  return [
    {
      id: "audit.server-version",
      severity: "info",
      message: `Redis ${facts.serverVersion}`,
      remediation: "Keep Redis on a supported release with current security fixes.",
    },
  ];
}

function unknownCheck(id: string, what: string, why: string, command: string, extra = ""): Finding {
  return {
    id,
    severity: "info",
    message: `unknown: could not check ${what} (${why})`,
    remediation: `Run the audit as a user allowed ${command}${extra === "" ? "" : `, ${extra}`}.`,
  };
}

// --- helpers -------------------------------------------------------------------------------------

/** A RESP2 flat [key, value, key, value] array as a map. */
function pairs(reply: unknown): Map<string, unknown> {
  const map = new Map<string, unknown>();
  if (!Array.isArray(reply)) return map;
  for (let i = 0; i + 1 < reply.length; i += 2) map.set(String(reply[i]), reply[i + 1]);
  return map;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function permissionReason(error: unknown, command: string): string {
  const text = message(error);
  if (/^NOPERM/.test(text)) return `the user may not run ${command}`;
  if (/^NOAUTH/.test(text)) return "the server requires authentication; pass --user and --password-file";
  if (/unknown (sub)?command/i.test(text)) return `the server does not know ${command}`;
  return `${command} failed: ${text.slice(0, 120)}`;
}
