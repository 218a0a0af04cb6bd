/**
 * The configuration container's script: how secrets reach Redis and its
 * clients, and how a rotation takes effect without restarting Redis.
 *
 * Why a separate container: the Docker provider replaces a container whenever
 * its `uploads`, `envs` or `command` change, and both `envs` and `command`
 * show in `docker inspect`. So the long-lived Redis container gets no secret
 * at all; it mounts a volume read-only and reads files from it. A short-lived
 * configuration container receives the material as `uploads` (so any change
 * replaces this container, i.e. runs it again), and:
 *
 *   1. installs the server's files into a new generation directory of the
 *      Redis volume and switches the `current` symlink with one rename;
 *   2. if Redis is running, authenticates as `admin` (trying the current
 *      admin password, then the previous one, which the running ACL still
 *      holds) and runs `ACL LOAD` and `CONFIG SET tls-cert-file ...`: Redis
 *      reloads its users and re-reads its certificates in place, existing
 *      connections stay open, no cached entry is lost. If Redis is not
 *      running yet (first deployment) there is nothing to tell: it reads the
 *      files when it starts;
 *   3. only then installs the clients' files (the backend's password, key
 *      ring, CA), so a client never holds a password the server does not
 *      accept yet;
 *   4. prunes older generations and deletes its inputs, so the exited
 *      container keeps no secret.
 *
 * If the reload fails, the Redis volume is switched back to the previous
 * generation (what the running server has loaded), the clients' files are
 * left alone, and the script exits non-zero; the program refuses to roll the
 * backend forward on a non-zero exit (see redis.ts).
 *
 * The script is POSIX sh and needs only sh, cat, cp, chmod, chown, ln,
 * mv -T, readlink, rm, date, head and redis-cli: all present in the official
 * Redis and Valkey images (Debian and Alpine) and in the local test image.
 * It contains no secret: every secret is a file in the inbox.
 */
import type { UserAndGroup } from "./config.js";

export interface DeliveryTarget {
  /** The inbox subdirectory holding the files, and the volume's mount name under the volumes root. */
  name: string;
  /** Owner of the installed files (mode 0400); the directory gets group `gid`, mode 0750. */
  owner: UserAndGroup;
  /** File names, the same in the inbox and in the generation directory. */
  files: readonly string[];
}

export interface ReloadPlan {
  /** Where the configuration container reaches Redis (the alias on the internal network). */
  host: string;
  port: number;
  /** Client-side TLS towards Redis, with inbox paths; undefined for plaintext (development without TLS). */
  tls: { caFile: string; certFile?: string; keyFile?: string } | undefined;
  /** The admin password files in the inbox, current first, then previous. */
  adminPasswordFiles: readonly string[];
  /** The TLS files as Redis sees them, re-read with CONFIG SET; undefined without TLS. */
  serverTlsFiles: { certFile: string; keyFile: string; caFile: string } | undefined;
}

export interface ConfiguratorPlan {
  /** Directory holding the uploads: `<inbox>/<target name>/<file>`. */
  inbox: string;
  /** Directory under which each target's volume is mounted: `<root>/<target name>`. */
  volumesRoot: string;
  /** The server's files, installed before the reload. */
  server: DeliveryTarget;
  reload: ReloadPlan;
  /** The clients' files, installed after a successful reload. */
  clients: readonly DeliveryTarget[];
  /** Upper bound for each redis-cli call, where `timeout` exists. */
  commandTimeoutSeconds: number;
}

/** Characters allowed in anything the script interpolates: no quote, space, `$` or glob. */
const SAFE = /^[A-Za-z0-9._/:-]+$/;

function q(value: string | number): string {
  const text = String(value);
  if (!SAFE.test(text)) throw new Error(`renderConfiguratorScript: unsafe value ${JSON.stringify(text)}`);
  return `'${text}'`;
}

function installCall(plan: ConfiguratorPlan, target: DeliveryTarget): string {
  if (target.files.length === 0) throw new Error(`renderConfiguratorScript: target ${target.name} has no files`);
  return [
    "install_generation",
    q(`${plan.volumesRoot}/${target.name}`),
    q(target.owner.uid),
    q(target.owner.gid),
    q(`${plan.inbox}/${target.name}`),
    ...target.files.map(q),
  ].join(" ");
}

function redisCliArgs(reload: ReloadPlan): string {
  const args = ["-h", q(reload.host), "-p", q(reload.port)];
  if (reload.tls !== undefined) {
    args.push("--tls", "--cacert", q(reload.tls.caFile));
    if (reload.tls.certFile !== undefined && reload.tls.keyFile !== undefined) {
      args.push("--cert", q(reload.tls.certFile), "--key", q(reload.tls.keyFile));
    }
  }
  args.push("--user", "admin");
  return args.join(" ");
}

export function renderConfiguratorScript(plan: ConfiguratorPlan): string {
  const { reload } = plan;
  if (reload.adminPasswordFiles.length === 0) throw new Error("renderConfiguratorScript: no admin password file");
  const serverVolume = q(`${plan.volumesRoot}/${plan.server.name}`);
  const tlsReload =
    reload.serverTlsFiles === undefined
      ? ""
      : `  out=$(admin ${q(reload.adminPasswordFiles[0]!)} CONFIG SET` +
        ` tls-cert-file ${q(reload.serverTlsFiles.certFile)}` +
        ` tls-key-file ${q(reload.serverTlsFiles.keyFile)}` +
        ` tls-ca-cert-file ${q(reload.serverTlsFiles.caFile)})\n` +
        `  [ "$out" = OK ] || reload_failed "CONFIG SET tls-* was refused: $(first_line "$out")"\n`;
  return `set -eu
umask 077
INBOX=${q(plan.inbox)}
STAMP="$(date -u +%Y%m%dT%H%M%SZ)-$$"
say() { printf 'secure-redis configurator: %s\\n' "$*"; }
die() { printf 'secure-redis configurator: FAILED: %s\\n' "$*" >&2; exit 1; }
first_line() { printf '%s\\n' "$1" | head -n 1; }
# The inputs are secrets: gone when the script ends, whatever happens.
trap 'rm -rf "$INBOX"' EXIT
trap 'exit 1' HUP INT TERM

# install_generation VOLUME UID GID SOURCE FILE...: copy the files into a new
# generation directory and point VOLUME/current at it with one rename.
install_generation() {
  vol=$1; uid=$2; gid=$3; src=$4; shift 4
  [ -d "$vol" ] || die "volume $vol is not mounted"
  gen="gen-$STAMP"
  rm -rf "$vol/$gen" "$vol/.next"
  mkdir "$vol/$gen"
  for f in "$@"; do
    [ -f "$src/$f" ] || die "input $src/$f is missing"
    cp "$src/$f" "$vol/$gen/$f"
    chmod 0400 "$vol/$gen/$f"
    chown "$uid:$gid" "$vol/$gen/$f"
  done
  chown "0:$gid" "$vol/$gen"
  chmod 0750 "$vol/$gen"
  chmod 0755 "$vol"
  PREVIOUS=$(readlink "$vol/current" 2>/dev/null || true)
  ln -s "$gen" "$vol/.next"
  mv -T "$vol/.next" "$vol/current"
}

# prune VOLUME: remove every generation but the current one.
prune() {
  keep=$(readlink "$1/current")
  for dir in "$1"/gen-*; do
    [ -e "$dir" ] || continue
    [ "\${dir##*/}" = "$keep" ] || rm -rf "$dir"
  done
}

TIMEOUT=''
if command -v timeout >/dev/null 2>&1; then TIMEOUT='timeout ${plan.commandTimeoutSeconds}'; fi
# admin PASSWORD_FILE COMMAND...: one redis-cli call as the admin user; the
# password travels in the environment of that one process, never in argv.
admin() {
  pwfile=$1; shift
  REDISCLI_AUTH="$(cat "$pwfile")" $TIMEOUT redis-cli ${redisCliArgs(reload)} "$@" 2>&1 || true
}

SERVER_PREVIOUS=''
chosen=''
acl_loaded=''
# reload_failed MESSAGE: put back the generation the running server has loaded, then fail.
reload_failed() {
  if [ -n "$SERVER_PREVIOUS" ]; then
    ln -s "$SERVER_PREVIOUS" ${serverVolume}/.next
    mv -T ${serverVolume}/.next ${serverVolume}/current
    [ -z "$acl_loaded" ] || admin "$chosen" ACL LOAD >/dev/null
    say "switched the Redis volume back to $SERVER_PREVIOUS"
  fi
  die "$1"
}

reload_redis() {
  for pwfile in ${reload.adminPasswordFiles.map(q).join(" ")}; do
    out=$(admin "$pwfile" PING)
    case "$out" in
      PONG) chosen=$pwfile; break ;;
      *"Could not connect to Redis"*)
        say "Redis is not running; it reads the new files when it starts"
        return 0 ;;
      *WRONGPASS*|*NOAUTH*) ;;
      *) reload_failed "Redis did not answer PING as admin: $(first_line "$out")" ;;
    esac
  done
  [ -n "$chosen" ] || reload_failed "the running Redis accepts neither the current nor the previous admin password; raise rotation.passwordGeneration by one at a time (docs/deploy.md)"
  out=$(admin "$chosen" ACL LOAD)
  [ "$out" = OK ] || reload_failed "ACL LOAD was refused: $(first_line "$out")"
  acl_loaded=1
${tlsReload}  say "Redis reloaded its users and TLS material in place"
}

${installCall(plan, plan.server)}
SERVER_PREVIOUS=$PREVIOUS
reload_redis
prune ${serverVolume}
${plan.clients.map((client) => `${installCall(plan, client)}\nprune ${q(`${plan.volumesRoot}/${client.name}`)}`).join("\n")}
say "installed generation $STAMP"
`;
}
