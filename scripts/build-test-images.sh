#!/usr/bin/env bash
# Builds the local Docker images the e2e tests run, FROM scratch out of this
# machine's own binaries (no registry can be reached, so nothing is pulled):
#
#   secure-redis/redis:test  /usr/bin/redis-server + /usr/bin/redis-cli (TLS via the
#                            host's libssl), busybox shell, user redis (999:999),
#                            writable /data and /tmp; default command runs redis-server
#   secure-redis/node:test   the Node 22 binary as /usr/local/bin/node, busybox shell,
#                            user node (1000:1000), writable /app and /tmp
#
# Each binary is copied with every library `ldd` lists (same paths) and the
# dynamic loader; busybox (Debian's busybox-static) is installed with
# `busybox --install -s /bin` in a RUN step.
#
# Idempotent and fast: a SHA-256 over every input file (contents and paths)
# and the generated Dockerfile is stored as the image label
# org.secure-redis.inputs-sha256; when the existing image carries the same
# hash the build is skipped. Prints one line per image: built or skipped.
#
#   bash scripts/build-test-images.sh            # build what changed
#   FORCE=1 bash scripts/build-test-images.sh    # rebuild both
#
# Environment: NODE_BINARY (default: `command -v node` after scripts/node-env.sh).
# Exit status: 0 built/skipped, 3 a required component is missing, 1 other failure.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REDIS_IMAGE="secure-redis/redis:test"
NODE_IMAGE="secure-redis/node:test"
HASH_LABEL="org.secure-redis.inputs-sha256"
BUSYBOX="/bin/busybox"
FORCE="${FORCE:-0}"

say() { printf '[build-test-images] %s\n' "$*"; }
die() { say "$*" >&2; exit 1; }
# Exit status 3: a component is missing (test helpers report it as such, never as a skip).
missing() { say "missing component: $*" >&2; exit 3; }

command -v docker >/dev/null 2>&1 || missing "docker client not found (run scripts/install-prerequisites.sh)"
docker info >/dev/null 2>&1 || missing "the Docker engine does not answer (docker info failed)"
command -v ldd >/dev/null 2>&1 || missing "ldd not found"
[ -x "$BUSYBOX" ] || missing "$BUSYBOX not found (apt-get install busybox-static)"
"$BUSYBOX" --list >/dev/null 2>&1 || die "$BUSYBOX does not run"
if ldd "$BUSYBOX" >/dev/null 2>&1; then missing "$BUSYBOX is dynamically linked; busybox-static is needed"; fi

# Build contexts (temp dirs) are removed on exit, whatever happens.
CONTEXT_DIRS=()
cleanup() { [ ${#CONTEXT_DIRS[@]} -eq 0 ] || rm -rf "${CONTEXT_DIRS[@]}"; }
trap cleanup EXIT

# One build at a time across processes (parallel test workers); the lock is
# held on this script file itself so that nothing is left behind.
exec 9<"${BASH_SOURCE[0]}"
flock 9

# The files a binary needs: itself, its libraries (as ldd names them) and the loader.
runtime_files() {
  local bin="$1"
  printf '%s\n' "$bin"
  ldd "$bin" | awk '
    $2 == "=>" && $3 ~ /^\// { print $3; next }
    $1 ~ /^\// { print $1 }
  '
}

# Content hash over "path  sha256" for each input plus the Dockerfile text.
inputs_hash() {
  local dockerfile="$1"
  shift
  {
    local entry src
    for entry in "$@"; do
      src="${entry%%=*}"
      printf '%s %s\n' "${entry#*=}" "$(sha256sum <"$src" | cut -d' ' -f1)"
    done
    printf '%s' "$dockerfile" | sha256sum
    sha256sum <"${BASH_SOURCE[0]}"
  } | sha256sum | cut -d' ' -f1
}

# build_image IMAGE DOCKERFILE_TEXT ETC_PASSWD ETC_GROUP ENTRY...
# ENTRY is "host_path=image_path"; host paths are dereferenced (cp -L).
build_image() {
  local image="$1" dockerfile="$2" passwd="$3" group="$4"
  shift 4
  local hash existing
  hash="$(inputs_hash "$dockerfile$passwd$group" "$@")"
  existing="$(docker image inspect --format "{{ index .Config.Labels \"$HASH_LABEL\" }}" "$image" 2>/dev/null || true)"
  if [ "$FORCE" != "1" ] && [ "$existing" = "$hash" ]; then
    say "skipped $image (up to date, inputs ${hash:0:12})"
    return 0
  fi
  local old_id context start
  start=$(date +%s)
  old_id="$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
  context="$(mktemp -d "${TMPDIR:-/tmp}/secure-redis-image.XXXXXX")"
  CONTEXT_DIRS+=("$context")
  mkdir -p "$context/rootfs/etc"
  local entry src dst
  for entry in "$@"; do
    src="${entry%%=*}"
    dst="$context/rootfs${entry#*=}"
    mkdir -p "$(dirname "$dst")"
    cp -L "$src" "$dst"
  done
  printf '%s' "$passwd" >"$context/rootfs/etc/passwd"
  printf '%s' "$group" >"$context/rootfs/etc/group"
  printf '%s\nLABEL %s="%s"\n' "$dockerfile" "$HASH_LABEL" "$hash" >"$context/Dockerfile"
  local log
  if ! log="$(DOCKER_BUILDKIT=0 docker build --quiet --tag "$image" "$context" 2>&1)"; then
    printf '%s\n' "$log" >&2
    die "building $image failed"
  fi
  local new_id
  new_id="$(docker image inspect --format '{{.Id}}' "$image")"
  if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
    docker image rm "$old_id" >/dev/null 2>&1 || true
  fi
  say "built $image (inputs ${hash:0:12}) in $(($(date +%s) - start)) s"
}

# Both images: busybox as /bin/busybox, then its applets as /bin symlinks.
COMMON_RUN='RUN ["/bin/busybox", "mkdir", "-p", "/bin"]
RUN ["/bin/busybox", "--install", "-s", "/bin"]'

# --- secure-redis/redis:test --------------------------------------------------
REDIS_SERVER="/usr/bin/redis-server"
REDIS_CLI="/usr/bin/redis-cli"
[ -x "$REDIS_SERVER" ] || missing "$REDIS_SERVER not found (apt-get install redis-server)"
[ -x "$REDIS_CLI" ] || missing "$REDIS_CLI not found (apt-get install redis-tools)"

redis_entries=("$BUSYBOX=/bin/busybox")
# redis-server is a symlink to redis-check-rdb on Debian and picks its mode
# from argv[0]; copied dereferenced, it keeps the name redis-server.
while IFS= read -r f; do
  if [ "$f" = "$REDIS_SERVER" ]; then redis_entries+=("$f=/usr/bin/redis-server"); else redis_entries+=("$f=$f"); fi
done < <({ runtime_files "$REDIS_SERVER"; runtime_files "$REDIS_CLI"; } | awk '!seen[$0]++')

REDIS_DOCKERFILE="FROM scratch
COPY rootfs/ /
$COMMON_RUN
RUN [\"/bin/sh\", \"-c\", \"mkdir -p /data /tmp /tls && chown 999:999 /data && chmod 0750 /data && chmod 1777 /tmp\"]
ENV PATH=/usr/bin:/bin
WORKDIR /data
USER 999:999
EXPOSE 6379 6380
CMD [\"redis-server\", \"--dir\", \"/data\", \"--save\", \"\", \"--appendonly\", \"no\"]"

build_image "$REDIS_IMAGE" "$REDIS_DOCKERFILE" \
  $'root:x:0:0:root:/root:/bin/sh\nredis:x:999:999:redis:/data:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
  $'root:x:0:\nredis:x:999:\nnogroup:x:65534:\n' \
  "${redis_entries[@]}"

# --- secure-redis/node:test ---------------------------------------------------
if [ -z "${NODE_BINARY:-}" ]; then
  # shellcheck source=scripts/node-env.sh
  . "$SCRIPT_DIR/node-env.sh"
  NODE_BINARY="$(command -v node || true)"
fi
[ -n "$NODE_BINARY" ] && [ -x "$NODE_BINARY" ] || missing "node not found (run scripts/install-prerequisites.sh)"
NODE_BINARY="$(readlink -f "$NODE_BINARY")"
node_major="$("$NODE_BINARY" -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 22 ] || missing "$NODE_BINARY is Node $node_major; Node 22+ is needed"

node_entries=("$BUSYBOX=/bin/busybox")
while IFS= read -r f; do
  if [ "$f" = "$NODE_BINARY" ]; then node_entries+=("$f=/usr/local/bin/node"); else node_entries+=("$f=$f"); fi
done < <(runtime_files "$NODE_BINARY")

NODE_DOCKERFILE="FROM scratch
COPY rootfs/ /
$COMMON_RUN
RUN [\"/bin/sh\", \"-c\", \"mkdir -p /app /tmp && chown 1000:1000 /app && chmod 1777 /tmp\"]
ENV PATH=/usr/local/bin:/usr/bin:/bin
WORKDIR /app
USER 1000:1000
CMD [\"node\"]"

build_image "$NODE_IMAGE" "$NODE_DOCKERFILE" \
  $'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
  $'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' \
  "${node_entries[@]}"
