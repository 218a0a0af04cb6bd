/**
 * A minimal RESP2 client for tests that must see exactly what the server
 * answers, including commands client libraries treat specially (SUBSCRIBE,
 * MONITOR, SHUTDOWN): commands are pipelined on one fresh (TLS) connection
 * and the first reply to each is returned. Errors come back as
 * `{ error: "NOPERM ..." }`, never thrown.
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";

export type RespReply = string | number | null | { error: string } | RespReply[];

export interface RespEndpoint {
  host: string;
  port: number;
}

function encode(command: readonly string[]): string {
  return `*${command.length}\r\n${command.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join("")}`;
}

/** Parses one reply at `offset`; undefined when the buffer does not hold a whole reply yet. */
function parse(buffer: string, offset: number): { reply: RespReply; next: number } | undefined {
  const end = buffer.indexOf("\r\n", offset);
  if (end === -1) return undefined;
  const type = buffer[offset];
  const line = buffer.slice(offset + 1, end);
  switch (type) {
    case "+":
      return { reply: line, next: end + 2 };
    case "-":
      return { reply: { error: line }, next: end + 2 };
    case ":":
      return { reply: Number(line), next: end + 2 };
    case "$": {
      const length = Number(line);
      if (length < 0) return { reply: null, next: end + 2 };
      // Test replies are ASCII, so string offsets equal byte offsets.
      if (buffer.length < end + 2 + length + 2) return undefined;
      return { reply: buffer.slice(end + 2, end + 2 + length), next: end + 2 + length + 2 };
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return { reply: null, next: end + 2 };
      const items: RespReply[] = [];
      let next = end + 2;
      for (let i = 0; i < count; i++) {
        const item = parse(buffer, next);
        if (item === undefined) return undefined;
        items.push(item.reply);
        next = item.next;
      }
      return { reply: items, next };
    }
    default:
      throw new Error(`unexpected RESP type ${JSON.stringify(type)}`);
  }
}

/** Sends the commands pipelined and resolves with one reply per command. */
export function respPipeline(
  endpoint: RespEndpoint,
  commands: readonly (readonly string[])[],
  tls?: ConnectionOptions,
  timeoutMs = 5_000,
): Promise<RespReply[]> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    const replies: RespReply[] = [];
    let offset = 0;
    let done = false;
    const finish = (error?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (error !== undefined) reject(error);
      else resolve(replies);
    };
    const payload = commands.map(encode).join("");
    const socket: Socket =
      tls === undefined
        ? netConnect({ host: endpoint.host, port: endpoint.port }, () => socket.write(payload))
        : tlsConnect({ host: endpoint.host, port: endpoint.port, ...tls }, () => socket.write(payload));
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      for (;;) {
        const parsed = parse(buffer, offset);
        if (parsed === undefined) break;
        replies.push(parsed.reply);
        offset = parsed.next;
        if (replies.length === commands.length) return finish();
      }
    });
    socket.on("error", (error) => finish(error));
    socket.on("close", () =>
      done
        ? undefined
        : finish(new Error(`connection closed after ${replies.length} of ${commands.length} replies`)),
    );
    const timer = setTimeout(() => finish(new Error(`no complete reply within ${timeoutMs} ms`)), timeoutMs);
  });
}

/** AUTH as `user`, then one command; the command's reply. */
export async function asUser(
  endpoint: RespEndpoint,
  tls: ConnectionOptions | undefined,
  user: string,
  password: string,
  command: readonly string[],
): Promise<RespReply> {
  const [auth, reply] = await respPipeline(endpoint, [["AUTH", user, password], command], tls);
  if (auth !== "OK") throw new Error(`AUTH ${user} failed: ${JSON.stringify(auth)}`);
  return reply!;
}

export function errorOf(reply: RespReply): string | undefined {
  return typeof reply === "object" && reply !== null && !Array.isArray(reply) ? reply.error : undefined;
}
