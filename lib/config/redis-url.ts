/**
 * `redis://` and `rediss://` URLs: parsed into the parts a client needs, and
 * shown only in a redacted form. Error messages never repeat the URL, which
 * may carry a password.
 */
import { ConfigurationError } from "../errors.js";
import { REDACTED, Secret } from "./secret.js";

export const DEFAULT_REDIS_PORT = 6379;

export interface RedisUrl {
  /** `rediss://`: TLS. */
  tls: boolean;
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  port: number;
  /** Database index from the path (`/2`), 0 when absent. */
  db: number;
  /** User name from the URL, when present. */
  username: string | undefined;
  /** Password from the URL, when present. */
  password: Secret | undefined;
  /** The URL with any password replaced by "[redacted]": safe to print. */
  display: string;
}

/**
 * Parses a Redis URL. `variable` names the setting in errors.
 * @throws ConfigurationError naming the variable, never echoing the value.
 */
export function parseRedisUrl(value: string, variable = "REDIS_URL"): RedisUrl {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError(
      variable,
      "is not a valid URL; use rediss://host:6379 (or redis:// in development)",
    );
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new ConfigurationError(
      variable,
      `has the scheme "${url.protocol.slice(0, 16)}"; use rediss://host:6379 (or redis:// in development)`,
    );
  }
  if (url.hostname === "") throw new ConfigurationError(variable, "has no host; use rediss://host:6379");
  if (url.search !== "" || url.hash !== "") {
    // Query options (e.g. ?tls=false) would silently change security settings; they have variables instead.
    throw new ConfigurationError(
      variable,
      "has a query string or fragment; remove it and use the REDIS_* variables (docs/configuration.md)",
    );
  }
  const path = url.pathname.replace(/^\//, "");
  if (path !== "" && !/^\d{1,2}$/.test(path)) {
    throw new ConfigurationError(
      variable,
      "has a path that is not a database number; use /0 to /15 or nothing",
    );
  }
  const tls = url.protocol === "rediss:";
  const port = url.port === "" ? DEFAULT_REDIS_PORT : Number(url.port);
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const username = url.username === "" ? undefined : safeDecode(url.username, variable, "user name");
  const password =
    url.password === "" ? undefined : new Secret(safeDecode(url.password, variable, "password"));
  const userinfo =
    username === undefined && password === undefined
      ? ""
      : `${url.username}${password === undefined ? "" : `:${REDACTED}`}@`;
  return {
    tls,
    host,
    port,
    db: path === "" ? 0 : Number(path),
    username,
    password,
    display: `${url.protocol}//${userinfo}${url.host}${path === "" ? "" : `/${path}`}`,
  };
}

function safeDecode(part: string, variable: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConfigurationError(
      variable,
      `has a badly percent-encoded ${what}; encode it with encodeURIComponent`,
    );
  }
}
