/**
 * The Redis container's healthcheck: PING as the `healthcheck` user, over
 * TLS when TLS is on, presenting a client certificate under mutual TLS. The
 * password is read from the configuration volume into REDISCLI_AUTH for the
 * one redis-cli process, so it never appears on a command line (`ps`) or in
 * the healthcheck definition (`docker inspect`). Healthy means the server
 * answered PONG to an authenticated user, i.e. TLS, the ACL and the live
 * generation of secrets all work.
 */

export interface HealthcheckSettings {
  port: number;
  passwordFile: string;
  tls: { caFile: string; certFile?: string; keyFile?: string } | undefined;
}

/** How often the check runs and how many failures make the container unhealthy. */
export const HEALTHCHECK_TIMING = {
  interval: "10s",
  timeout: "5s",
  retries: 3,
  startPeriod: "10s",
} as const;

const SAFE_PATH = /^[A-Za-z0-9._/-]+$/;

function path(value: string): string {
  if (!SAFE_PATH.test(value))
    throw new Error(`renderHealthcheckCommand: unsafe path ${JSON.stringify(value)}`);
  return `'${value}'`;
}

/** The shell command (for `CMD-SHELL`), exit 0 when healthy. */
export function renderHealthcheckCommand(settings: HealthcheckSettings): string {
  const args = ["-h", "127.0.0.1", "-p", String(settings.port)];
  if (settings.tls !== undefined) {
    args.push("--tls", "--cacert", path(settings.tls.caFile));
    if (settings.tls.certFile !== undefined && settings.tls.keyFile !== undefined) {
      args.push("--cert", path(settings.tls.certFile), "--key", path(settings.tls.keyFile));
    }
  }
  args.push("--user", "healthcheck", "PING");
  return `[ "$(REDISCLI_AUTH="$(cat ${path(settings.passwordFile)})" redis-cli ${args.join(" ")} 2>/dev/null)" = PONG ]`;
}

/** The Docker healthcheck `test` array. */
export function renderHealthcheckTest(settings: HealthcheckSettings): string[] {
  return ["CMD-SHELL", renderHealthcheckCommand(settings)];
}
