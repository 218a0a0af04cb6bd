/**
 * createSecureRedisClient: the one way the library connects to Redis.
 *
 * - ACL user and password (sent in HELLO 3 AUTH, or AUTH on RESP2).
 * - TLS with certificate verification, server name, optional client
 *   certificate, TLS 1.2 minimum.
 * - Connect timeout, command timeout, capped exponential backoff with jitter.
 * - After `maxAuthFailures` consecutive WRONGPASS/NOAUTH replies it stops
 *   reconnecting and `connect()` rejects with a RedisAuthError: a wrong
 *   password never turns into a password-guessing loop against the server.
 * - Auth, TLS and connection events go to the `SecurityEvents` it is given.
 * - The tier's policy is enforced again here (settings may be built by hand):
 *   plaintext or unverified TLS is refused where the tier requires TLS.
 */
import { performance } from "node:perf_hooks";
import { Redis, type RedisOptions } from "ioredis";
import { ConfigurationError, type SecureRedisError } from "../errors.js";
import type { SecurityEvents } from "../events.js";
import type { Settings } from "../config/settings.js";
import { tierFor } from "../config/tiers.js";
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from "./backoff.js";
import { disconnectQuietly } from "./disconnect.js";
import { RedisAuthError, RedisConnectionError, RedisTlsError } from "./errors.js";
import { describeConnectionFailure, describeTlsFailure, errorCode } from "./tls-errors.js";

export const DEFAULT_MAX_AUTH_FAILURES = 3;
export const DEFAULT_MAX_CONNECT_ATTEMPTS = 5;

export interface SecureClientOptions {
  /** Where auth, TLS and connection events are published. */
  events?: SecurityEvents;
  /** Consecutive authentication failures after which the client gives up (default 3). */
  maxAuthFailures?: number;
  /** Failed attempts after which the first `connect()` rejects (default 5). Later outages retry without limit. */
  maxConnectAttempts?: number;
  /** Reconnect delays (default 100 ms doubling to 10 s, with jitter). */
  backoff?: BackoffOptions;
  /** CLIENT SETNAME, to find the app in CLIENT LIST. */
  connectionName?: string;
}

export interface HealthCheckResult {
  ok: boolean;
  /** Round trip of a PING in ms (to the failure, when it failed). */
  latencyMs: number;
  /** Why it failed (no secret), when it did. */
  error?: string;
}

export class SecureRedisClient {
  /** The ioredis client, for commands. Its connection is managed by this object. */
  readonly redis: Redis;
  /** The ACL user this client authenticates as. */
  readonly user: string;
  /** host:port, for messages. */
  readonly endpoint: string;
  readonly #events: SecurityEvents | undefined;
  readonly #maxAuthFailures: number;
  readonly #maxConnectAttempts: number;
  readonly #backoff: BackoffOptions;
  #authFailures = 0;
  #lastAuthReason: "WRONGPASS" | "NOAUTH" = "WRONGPASS";
  #failedAttempts = 0;
  #everReady = false;
  #ready = false;
  #lostAt: number | undefined;
  #lastError: unknown;
  #fatal: SecureRedisError | undefined;

  /** Use `createSecureRedisClient`. */
  constructor(settings: Settings, opts: SecureClientOptions = {}) {
    enforcePolicy(settings, opts.events);
    this.#events = opts.events;
    this.#maxAuthFailures = opts.maxAuthFailures ?? DEFAULT_MAX_AUTH_FAILURES;
    this.#maxConnectAttempts = opts.maxConnectAttempts ?? DEFAULT_MAX_CONNECT_ATTEMPTS;
    this.#backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.user = settings.redis.username ?? "default";
    this.endpoint = `${settings.redis.host}:${settings.redis.port}`;
    this.redis = new Redis(this.#redisOptions(settings, opts));
    this.redis.on("error", (error: unknown) => this.#onError(error));
    this.redis.on("ready", () => this.#onReady());
    this.redis.on("close", () => this.#onClose());
  }

  /** Whether the connection is up and authenticated. */
  get ready(): boolean {
    return this.#ready;
  }

  /**
   * Connects and resolves once authenticated. Rejects with RedisAuthError,
   * RedisTlsError or RedisConnectionError when the client gives up.
   */
  connect(): Promise<void> {
    if (this.redis.status === "ready") return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onReady = (): void => {
        this.redis.off("end", onEnd);
        resolve();
      };
      const onEnd = (): void => {
        this.redis.off("ready", onReady);
        reject(this.#fatal ?? this.#connectionError());
      };
      this.redis.once("ready", onReady);
      this.redis.once("end", onEnd);
      if (this.redis.status === "wait" || this.redis.status === "end") {
        // A connect() after close() or after giving up starts over: bounded attempts again.
        this.#fatal = undefined;
        this.#authFailures = 0;
        this.#failedAttempts = 0;
        this.#everReady = false;
        // Its own promise rejects on the first close even while retrying; the events above decide.
        this.redis.connect().catch(() => undefined);
      }
    });
  }

  /** PING with a timeout; never throws. */
  async healthCheck(timeoutMs = 2_000): Promise<HealthCheckResult> {
    const started = performance.now();
    const elapsed = (): number => Math.round((performance.now() - started) * 1000) / 1000;
    if (this.redis.status !== "ready") {
      return { ok: false, latencyMs: 0, error: `not connected (${this.redis.status})` };
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const reply = await Promise.race([
        this.redis.ping(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no reply within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return reply === "PONG"
        ? { ok: true, latencyMs: elapsed() }
        : { ok: false, latencyMs: elapsed(), error: "unexpected reply" };
    } catch (error) {
      return {
        ok: false,
        latencyMs: elapsed(),
        error: error instanceof Error ? error.message : "PING failed",
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /** QUIT (bounded), then disconnect. Safe to call twice. */
  async close(): Promise<void> {
    if (this.redis.status === "ready") {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.redis.quit().catch(() => undefined),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, 1_000))),
      ]);
      clearTimeout(timer);
    }
    disconnectQuietly(this.redis);
  }

  #redisOptions(settings: Settings, opts: SecureClientOptions): RedisOptions {
    const options: RedisOptions = {
      host: settings.redis.host,
      port: settings.redis.port,
      db: settings.redis.db,
      lazyConnect: true,
      connectTimeout: settings.timeouts.connectMs,
      commandTimeout: settings.timeouts.commandMs,
      retryStrategy: (attempt) => this.#retryDelay(attempt),
      // Commands fail fast during an outage: a cache miss is better than a hung request.
      maxRetriesPerRequest: 1,
      // INFO (ioredis's ready check) is not an app command; the ACL refuses it.
      enableReadyCheck: false,
      // Redis 7.0 has no CLIENT SETINFO, and maintenance notifications are a Redis Cloud feature.
      disableClientInfo: true,
      maintNotifications: "disabled",
    };
    if (settings.redis.username !== undefined) options.username = settings.redis.username;
    if (settings.redis.password !== undefined) options.password = settings.redis.password.reveal();
    if (opts.connectionName !== undefined) options.connectionName = opts.connectionName;
    if (settings.redis.tls) {
      options.tls = {
        minVersion: "TLSv1.2",
        rejectUnauthorized: settings.tls.rejectUnauthorized,
        ...(settings.tls.ca === undefined ? {} : { ca: settings.tls.ca }),
        ...(settings.tls.servername === undefined ? {} : { servername: settings.tls.servername }),
        ...(settings.tls.cert === undefined ? {} : { cert: settings.tls.cert }),
        ...(settings.tls.key === undefined ? {} : { key: settings.tls.key.reveal() }),
      };
    }
    return options;
  }

  #retryDelay(attempt: number): number | null {
    if (this.#fatal !== undefined) return null;
    if (!this.#everReady) {
      this.#failedAttempts = attempt;
      if (attempt >= this.#maxConnectAttempts) {
        this.#fatal = this.#connectionError();
        return null;
      }
    }
    return backoffDelay(attempt, this.#backoff);
  }

  #onError(error: unknown): void {
    this.#lastError = error;
    const auth = authFailureCode(error);
    if (auth !== undefined) {
      this.#authFailures++;
      this.#lastAuthReason = auth;
      this.#events?.publish("auth.failure", {
        user: this.user,
        reason: auth,
        consecutive: this.#authFailures,
      });
      if (this.#authFailures >= this.#maxAuthFailures) {
        this.#fatal = new RedisAuthError(this.user, this.#authFailures, this.#lastAuthReason, this.endpoint);
      }
      return;
    }
    const tls = describeTlsFailure(error);
    if (tls !== undefined) {
      this.#events?.publish("tls.failure", { reason: `${tls.code}: ${tls.detail}` });
      // Before the first success a certificate problem will not fix itself; later it may (a renewal).
      if (!this.#everReady) this.#fatal = new RedisTlsError(tls.code, tls.detail, tls.fix, this.endpoint);
    }
  }

  #onReady(): void {
    this.#ready = true;
    this.#everReady = true;
    this.#authFailures = 0;
    this.#failedAttempts = 0;
    this.#events?.publish("auth.success", { user: this.user });
    if (this.#lostAt !== undefined) {
      this.#events?.publish("connection.restored", { downtimeMs: Date.now() - this.#lostAt });
      this.#lostAt = undefined;
    }
  }

  #onClose(): void {
    if (!this.#ready) return;
    this.#ready = false;
    this.#lostAt = Date.now();
    this.#events?.publish("connection.lost", { reason: describeError(this.#lastError) });
  }

  #connectionError(): RedisConnectionError {
    const { code, detail, fix } = describeConnectionFailure(this.#lastError);
    return new RedisConnectionError(this.endpoint, Math.max(this.#failedAttempts, 1), detail, fix, code);
  }
}

/** Creates a client (not yet connected: call `connect()`). Throws ConfigurationError where the tier forbids the settings. */
export function createSecureRedisClient(
  settings: Settings,
  opts: SecureClientOptions = {},
): SecureRedisClient {
  return new SecureRedisClient(settings, opts);
}

function enforcePolicy(settings: Settings, events: SecurityEvents | undefined): void {
  const policy = tierFor(settings.environment);
  const refuse = (setting: string, message: string): never => {
    events?.publish("config.violation", { setting, message });
    throw new ConfigurationError(setting, message);
  };
  if (policy.requireTls && !settings.redis.tls) {
    refuse(
      "REDIS_URL",
      `plaintext redis:// is refused in ${settings.environment}; use rediss://${settings.redis.host}:${settings.redis.port}`,
    );
  }
  if (policy.requireTls && !settings.tls.rejectUnauthorized) {
    refuse(
      "REDIS_TLS_REJECT_UNAUTHORIZED",
      `certificate verification cannot be turned off in ${settings.environment}; set REDIS_TLS_CA_FILE to the CA that signed the server certificate`,
    );
  }
  if (policy.requireMutualTls && (settings.tls.cert === undefined || settings.tls.key === undefined)) {
    refuse(
      "REDIS_TLS_CERT_FILE",
      `${settings.environment} requires mutual TLS; set REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE`,
    );
  }
  if (
    policy.requireAuthentication &&
    (settings.redis.password === undefined || settings.redis.username === undefined)
  ) {
    refuse(
      "REDIS_USERNAME",
      `${settings.environment} requires an ACL user and password; set REDIS_USERNAME and REDIS_PASSWORD_FILE`,
    );
  }
}

/** WRONGPASS or NOAUTH when the error is the server refusing authentication. */
function authFailureCode(error: unknown): "WRONGPASS" | "NOAUTH" | undefined {
  const message = error instanceof Error ? error.message : "";
  if (message.startsWith("WRONGPASS")) return "WRONGPASS";
  if (message.startsWith("NOAUTH")) return "NOAUTH";
  return undefined;
}

/** A short, secret-free description of a connection error. */
function describeError(error: unknown): string {
  if (error === undefined) return "connection closed";
  const tls = describeTlsFailure(error);
  if (tls !== undefined) return `${tls.code}: ${tls.detail}`;
  const code = errorCode(error);
  if (code !== undefined) return code;
  // Server replies (ReplyError) are safe text: Redis never echoes credentials.
  return error instanceof Error ? error.message.slice(0, 200) : "connection closed";
}
