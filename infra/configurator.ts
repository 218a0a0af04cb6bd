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
 *      admin password, then the previous one, which the running server still
 *      accepts) and applies the new material in place:
 *      - the ACL with one `ACL SETUSER <user> reset <rules>` per line of the
 *        file. Not `ACL LOAD`: Redis 7.0 drops every authenticated client on
 *        `ACL LOAD` (the integration test shows it), while SETUSER changes a
 *        user atomically and keeps its connections; the file stays what Redis
 *        reads on its next start;
 *      - the certificates with `CONFIG SET tls-cert-file ... tls-key-file ...
 *        tls-ca-cert-file ...`: Redis re-reads them (these settings re-apply
 *        even when the path is unchanged) and new connections get the new
 *        certificate while existing ones continue.
 *      No cached entry is lost and no connection is cut. If Redis is not
 *      running (first deployment, or a restart in progress) there is nothing
 *      to tell: it reads the files when it starts;
 *   3. only then installs the clients' files (the backend's password, key
 *      ring, CA), so a client never holds a password the server does not
 *      accept yet;
 *   4. prunes older generations and deletes its inputs, so the exited
 *      container keeps no secret.
 *
 * If applying fails, the Redis volume is switched back to the previous
 * generation and that generation's ACL is applied again (what the running
 * server had), the clients' files are left alone, and the script exits
 * non-zero; the program refuses to roll the backend forward on a non-zero
 * exit (see redis.ts).
 *
 * The script is POSIX sh and needs only sh, cat, cp, chmod, chown, ln,
 * mv -T, readlink, rm, date, head, grep, id and redis-cli: all present in the
 * official Redis and Valkey images (Debian and Alpine) and in the local test
 * image. It contains no secret: every secret is a file in the inbox.
 */
import type { UserAndGroup } from "./config.js";

export interface DeliveryTarget {
  /** The inbox subdirectory holding the files, and the volume's mount name under the volumes root. */
  name: string;
  /**
   * Owner of the installed files (mode 0400); the generation directory stays
   * the configurator's (root in the container) with group `gid`, mode 0750.
   */
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
  /**
   * The new ACL file, read from the inbox: the copy on the volume is the Redis
   * user's (mode 0400), and the configurator holds no capability to read
   * other users' files.
   */
  aclFile: string;
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
  /**
   * How many times (2 s apart) to try a Redis that refuses connections (a
   * restart in progress) before concluding it is not running; a Redis loading
   * its snapshot gets ten times as long. A name that does not resolve (no
   * Redis container) is given one retry.
   */
  reachAttempts: number;
}

/** Characters allowed in anything the script interpolates: no quote, space, `$` or glob. */
const SAFE = /^[A-Za-z0-9._/:-]+$/;

function q(value: string | number): string {
  const text = String(value);
  if (!SAFE.test(text)) throw new Error(`renderConfiguratorScript: unsafe value ${JSON.stringify(text)}`);
  return `'${text}'`;
}

function installCall(plan: ConfiguratorPlan, target: DeliveryTarget): string {
  if (target.files.length === 0)
    throw new Error(`renderConfiguratorScript: target ${target.name} has no files`);
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
  if (reload.adminPasswordFiles.length === 0)
    throw new Error("renderConfiguratorScript: no admin password file");
  const serverVolume = q(`${plan.volumesRoot}/${plan.server.name}`);
  const currentAdmin = q(reload.adminPasswordFiles[0]!);
  const tlsReload =
    reload.serverTlsFiles === undefined
      ? ""
      : `  out=$(admin ${currentAdmin} CONFIG SET` +
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
  gen="gen-$STAMP"; n=0
  # Never reuse a name: the live generation may carry the same stamp (same second, same pid).
  while [ -e "$vol/$gen" ]; do n=$((n + 1)); gen="gen-$STAMP-$n"; done
  rm -f "$vol/.next"
  mkdir "$vol/$gen"
  for f in "$@"; do
    [ -f "$src/$f" ] || die "input $src/$f is missing"
    cp "$src/$f" "$vol/$gen/$f"
    chmod 0400 "$vol/$gen/$f"
    chown "$uid:$gid" "$vol/$gen/$f"
  done
  chown "$(id -u):$gid" "$vol/$gen"
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
# admin PASSWORD_FILE COMMAND...: one redis-cli call as the admin user; the password
# travels in the environment of that one process, never in argv. RES_OPTIONS makes a
# name that does not exist fail in seconds (an internal network has no upstream DNS).
admin() {
  admin_pw=$1; shift
  REDISCLI_AUTH="$(cat "$admin_pw")" RES_OPTIONS='timeout:1 attempts:1' \\
    $TIMEOUT redis-cli ${redisCliArgs(reload)} "$@" </dev/null 2>&1 || true
}

# apply_acl ACL_FILE PASSWORD_FILE: one ACL SETUSER <user> reset <rules> per line, then
# delete users the file does not have. Sets FAILURE and returns 1 on the first refusal.
apply_acl() {
  acl_file=$1; acl_pw=$2
  set -f # rules hold * and ~: no globbing while splitting lines into words
  while IFS= read -r acl_line || [ -n "$acl_line" ]; do
    [ -n "$acl_line" ] || continue
    # shellcheck disable=SC2086
    set -- $acl_line
    if [ "$1" != user ] || [ $# -lt 2 ]; then set +f; FAILURE="$acl_file: a line does not start with user <name>"; return 1; fi
    acl_user=$2; shift 2
    out=$(admin "$acl_pw" ACL SETUSER "$acl_user" reset "$@")
    if [ "$out" != OK ]; then set +f; FAILURE="ACL SETUSER $acl_user was refused: $(first_line "$out")"; return 1; fi
  done < "$acl_file"
  set +f
  for acl_user in $(admin "$acl_pw" ACL USERS); do
    grep -q "^user $acl_user " "$acl_file" || admin "$acl_pw" ACL DELUSER "$acl_user" >/dev/null
  done
}

SERVER_PREVIOUS=''
chosen=''
ACL_BEFORE="$INBOX/acl-before"
# reload_failed MESSAGE: put back what the running server had (volume generation and
# users, from the ACL LIST taken before any change), then fail.
reload_failed() {
  if [ -n "$SERVER_PREVIOUS" ]; then
    ln -s "$SERVER_PREVIOUS" ${serverVolume}/.next
    mv -T ${serverVolume}/.next ${serverVolume}/current
    say "switched the Redis volume back to $SERVER_PREVIOUS"
  fi
  if [ -s "$ACL_BEFORE" ]; then
    if apply_acl "$ACL_BEFORE" "$chosen"; then say "restored the users Redis had"; else say "could not restore the users: $FAILURE"; fi
  fi
  die "$1"
}

reload_redis() {
  if [ -z "$SERVER_PREVIOUS" ]; then
    say "first delivery: Redis reads these files when it starts"
    return 0
  fi
  attempt=0
  while :; do
    retry=''
    for pwfile in ${reload.adminPasswordFiles.map(q).join(" ")}; do
      out=$(admin "$pwfile" PING)
      case "$out" in
        PONG) chosen=$pwfile; break 2 ;;
        *WRONGPASS*|*NOAUTH*) ;;
        *LOADING*)
          # Redis is loading its snapshot; it accepts commands in a moment.
          retry=$out; attempt=$((attempt - 1)); break ;;
        *"Connection refused"*)
          # The container exists but Redis is not listening: a restart in progress.
          retry=$out; break ;;
        *"Could not connect to Redis"*)
          # The name does not resolve: no Redis container on the network (first start, or a
          # replacement in progress, whose new container starts after this script).
          if [ "$attempt" -ge 1 ]; then
            say "Redis is not on the network ($(first_line "$out")); it reads the new files when it starts"
            return 0
          fi
          retry=$out; break ;;
        *) reload_failed "Redis did not answer PING as admin: $(first_line "\${out:-no answer within ${plan.commandTimeoutSeconds} s}")" ;;
      esac
    done
    [ -n "$retry" ] || break
    attempt=$((attempt + 1))
    loading=$((\${loading:-0} + 1))
    if [ "$attempt" -ge ${plan.reachAttempts} ] || [ "$loading" -ge ${plan.reachAttempts * 10} ]; then
      say "Redis is not reachable ($(first_line "$retry")); it reads the new files when it starts"
      return 0
    fi
    sleep 2
  done
  [ -n "$chosen" ] || reload_failed "the running Redis accepts neither the current nor the previous admin password; raise rotation.passwordGeneration by one at a time (docs/deploy.md)"
  admin "$chosen" ACL LIST > "$ACL_BEFORE"
  grep -q '^user ' "$ACL_BEFORE" || reload_failed "ACL LIST was refused: $(first_line "$(cat "$ACL_BEFORE")")"
  apply_acl ${q(reload.aclFile)} "$chosen" || reload_failed "$FAILURE"
  # From here on the current admin password is valid (the users just applied hold it).
${tlsReload}  say "Redis applied the new users${reload.serverTlsFiles === undefined ? "" : " and TLS material"} in place"
}

${installCall(plan, plan.server)}
SERVER_PREVIOUS=$PREVIOUS
reload_redis
prune ${serverVolume}
${plan.clients.map((client) => `${installCall(plan, client)}\nprune ${q(`${plan.volumesRoot}/${client.name}`)}`).join("\n")}
say "installed generation $STAMP"
`;
}
