/**
 * ioredis clients for tests that fail fast: `lazyConnect`, no reconnects
 * (`retryStrategy: () => null`), one try per command, short timeouts. TLS
 * always verifies the server certificate against the CA you pass.
 *
 *   const client = await connectRedisClient(server, { tls: clientTls(fixtures), username: "app", password });
 *   try { await client.set("k", "v"); } finally { await closeRedisClient(client); }
 *
 *   const error = await expectConnectionFailure(server, { tls: clientTls(fixtures, { ca: "untrusted" }) });
 *   expect(errorCode(error)).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
 *
 * `sendRawCommand` speaks RESP over a bare (TLS) socket, without any client
 * library handshake, to see exactly what the server answers an
 * unauthenticated connection.
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { Redis, type RedisOptions } from "ioredis";
import type { TlsFixtures } from "./tls-fixtures.js";

/** Where a server listens; a `RedisServer` or a started container's mapped port both fit. */
export interface RedisEndpoint {
  host: string;
  port: number;
}

export interface ClientTlsOptions {
  /** Trusted CA certificate(s), PEM. Omitted: Node's public roots (which never trust a test CA). */
  ca?: string | Buffer | Array<string | Buffer>;
  /**
   * Name sent as SNI and checked against the certificate's SANs. Omitted: the
   * endpoint host is checked (127.0.0.1 matches the fixtures' IP SAN).
   */
  servername?: string;
  /** Client certificate, PEM (mutual TLS). */
  cert?: string;
  /** Client private key, PEM (mutual TLS). */
  key?: string;
  /** Default true. Only a test of insecure behaviour should turn it off. */
  rejectUnauthorized?: boolean;
}

export interface RedisClientOptions {
  /** Connect with TLS; omitted: plaintext. */
  tls?: ClientTlsOptions;
  username?: string;
  password?: string;
  /** RESP version (ioredis 6 defaults to 3, i.e. HELLO 3 [AUTH ...]). */
  protocol?: 2 | 3;
  /** Socket connect timeout (default 5 s). */
  connectTimeoutMs?: number;
  /** Per-command timeout (default 5 s). */
  commandTimeoutMs?: number;
  /** Anything else for ioredis; applied last. */
  redisOptions?: RedisOptions;
}

/** Client-side TLS options from fixtures: which CA to trust, optionally a client cert, SNI name. */
export function clientTls(
  fixtures: TlsFixtures,
  opts: {
    ca?: "trusted" | "untrusted";
    clientCert?: "none" | "trusted" | "untrusted";
    servername?: string;
  } = {},
): ClientTlsOptions {
  const tls: ClientTlsOptions = {
    ca: opts.ca === "untrusted" ? fixtures.untrustedCa.cert : fixtures.ca.cert,
  };
  const client =
    opts.clientCert === "trusted"
      ? fixtures.client
      : opts.clientCert === "untrusted"
        ? fixtures.untrustedClient
        : undefined;
  if (client !== undefined) {
    tls.cert = client.cert;
    tls.key = client.key;
  }
  if (opts.servername !== undefined) tls.servername = opts.servername;
  return tls;
}

/** ioredis options for `endpoint` (exported for tests that construct clients themselves). */
export function redisClientOptions(endpoint: RedisEndpoint, options: RedisClientOptions = {}): RedisOptions {
  const base: RedisOptions = {
    host: endpoint.host,
    port: endpoint.port,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    commandTimeout: options.commandTimeoutMs ?? 5_000,
    // Redis 7.0 knows neither CLIENT SETINFO nor maintenance notifications; skip both probes.
    disableClientInfo: true,
    maintNotifications: "disabled",
  };
  if (options.username !== undefined) base.username = options.username;
  if (options.password !== undefined) base.password = options.password;
  if (options.protocol !== undefined) base.protocol = options.protocol;
  if (options.tls !== undefined) {
    const { rejectUnauthorized = true, ...rest } = options.tls;
    base.tls = { ...rest, rejectUnauthorized };
  }
  return { ...base, ...options.redisOptions };
}

const lastErrors = new WeakMap<Redis, Error>();

/**
 * A client that has not connected yet (`lazyConnect`). Errors are recorded in
 * `lastError(client)` instead of being printed as unhandled.
 */
export function createRedisClient(endpoint: RedisEndpoint, options: RedisClientOptions = {}): Redis {
  const client = new Redis(redisClientOptions(endpoint, options));
  client.on("error", (error: Error) => {
    lastErrors.set(client, error);
  });
  return client;
}

/** The last `error` event a client from `createRedisClient` emitted. */
export function lastError(client: Redis): Error | undefined {
  return lastErrors.get(client);
}

/** A connected, ready client; on failure it is disconnected and the connect error is thrown. */
export async function connectRedisClient(
  endpoint: RedisEndpoint,
  options: RedisClientOptions = {},
): Promise<Redis> {
  const client = createRedisClient(endpoint, options);
  try {
    await client.connect();
    return client;
  } catch (error) {
    client.disconnect();
    throw bestError(error, client);
  }
}

/** QUIT when connected (bounded by a timeout), then always disconnect. Safe to call twice. */
export async function closeRedisClient(client: Redis | undefined): Promise<void> {
  if (client === undefined) return;
  if (client.status === "ready") {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, 1_000)));
    await Promise.race([client.quit().catch(() => undefined), timeout]);
    clearTimeout(timer);
  }
  client.disconnect();
}

/** Runs `fn` with a connected client and closes it afterwards, whatever happens. */
export async function withRedisClient<T>(
  endpoint: RedisEndpoint,
  options: RedisClientOptions,
  fn: (client: Redis) => Promise<T>,
): Promise<T> {
  const client = await connectRedisClient(endpoint, options);
  try {
    return await fn(client);
  } finally {
    await closeRedisClient(client);
  }
}

/**
 * Connects and runs PING, expecting that to fail; returns the error (the TLS
 * or server error, not ioredis's generic "Connection is closed" when a better
 * one was seen). Throws if the connection and PING succeed.
 */
export async function expectConnectionFailure(
  endpoint: RedisEndpoint,
  options: RedisClientOptions = {},
): Promise<Error> {
  const client = createRedisClient(endpoint, options);
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    return bestError(error, client);
  } finally {
    client.disconnect();
  }
  throw new Error(`expected the connection to ${endpoint.host}:${endpoint.port} to fail, but PING succeeded`);
}

/** Prefers the recorded socket/TLS error over ioredis's generic wrapper errors. */
function bestError(error: unknown, client: Redis): Error {
  const thrown = error instanceof Error ? error : new Error(String(error));
  const recorded = lastErrors.get(client);
  if (recorded !== undefined && errorCode(thrown) === undefined && /closed/i.test(thrown.message)) {
    return recorded;
  }
  return thrown;
}

/** `error.code` (e.g. CERT_HAS_EXPIRED, ECONNREFUSED), when there is one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  const code = error.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Sends one command as RESP over a fresh socket (TLS when `tls` is given,
 * verifying like the client does) and returns the server's first reply line,
 * e.g. "-NOAUTH Authentication required." or "+PONG". Rejects on socket/TLS
 * errors, on timeout, and when the server closes without answering.
 */
export async function sendRawCommand(
  endpoint: RedisEndpoint,
  command: readonly string[],
  options: { tls?: ClientTlsOptions; timeoutMs?: number } = {},
): Promise<string> {
  const payload =
    `*${command.length}\r\n` + command.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join("");
  return new Promise((resolve, reject) => {
    let socket: Socket | TLSSocket;
    let received = "";
    let settled = false;
    const finish = (error: Error | undefined, line?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error !== undefined) reject(error);
      else resolve(line ?? "");
    };
    if (options.tls !== undefined) {
      const { rejectUnauthorized = true, ...rest } = options.tls;
      socket = tlsConnect({ host: endpoint.host, port: endpoint.port, ...rest, rejectUnauthorized }, () =>
        socket.write(payload),
      );
    } else {
      socket = netConnect({ host: endpoint.host, port: endpoint.port }, () => socket.write(payload));
    }
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      received += chunk;
      const end = received.indexOf("\r\n");
      if (end >= 0) finish(undefined, received.slice(0, end));
    });
    socket.on("error", (error: Error) => finish(error));
    socket.on("close", () =>
      finish(new Error(`the server closed the connection without a reply (got ${JSON.stringify(received)})`)),
    );
    const timer = setTimeout(
      () => finish(new Error(`no reply within ${options.timeoutMs ?? 5_000} ms`)),
      options.timeoutMs ?? 5_000,
    );
  });
}
