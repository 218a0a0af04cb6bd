#!/usr/bin/env bash
# Installs what secure-redis's build and tests need on a Debian/Ubuntu host, as root.
# Idempotent: run it as often as you like; it reports what it installed and what
# was already there. Used by .ci/run, so a fresh machine needs nothing by hand.
#
#   Node.js 22   (from the npm registry's `node` package when the system Node is older)
#   redis-server, redis-tools (Redis 7 with TLS), openssl
#   Python 3 with `cryptography`, python3-cryptography-vectors (Fernet spec vectors)
#   busybox-static (a shell for the FROM-scratch test images)
#   Docker engine (docker.io), daemon started and answering
#
# After it runs, put Node 22 first on PATH with:  source scripts/node-env.sh
set -euo pipefail

NODE22_PREFIX="${NODE22_PREFIX:-$HOME/.node22}"
installed=()
present=()

say() { printf '[prerequisites] %s\n' "$*"; }
need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    say "must run as root to install $1 (try: sudo $0)" >&2
    exit 1
  fi
}

apt_updated=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      present+=("$pkg")
    else
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    need_root "${missing[*]}"
    if [ "$apt_updated" -eq 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    installed+=("${missing[@]}")
  fi
}

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# --- Debian packages -------------------------------------------------------
apt_install redis-server redis-tools openssl ca-certificates python3 python3-cryptography \
  python3-cryptography-vectors busybox-static docker.io iproute2

# The packaged redis-server service is not needed (tests start their own
# servers on free loopback ports); keep it from holding port 6379.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  systemctl stop redis-server >/dev/null 2>&1 || true
fi

# --- Node.js 22 ------------------------------------------------------------
system_node_major=0
command -v node >/dev/null 2>&1 && system_node_major=$(node_major node)
if [ "$system_node_major" -ge 22 ]; then
  present+=("node $(node --version) (system)")
elif [ -x "$NODE22_PREFIX/node_modules/.bin/node" ] && [ "$(node_major "$NODE22_PREFIX/node_modules/.bin/node")" -ge 22 ]; then
  present+=("node $("$NODE22_PREFIX/node_modules/.bin/node" --version) ($NODE22_PREFIX)")
else
  command -v npm >/dev/null 2>&1 || apt_install npm
  mkdir -p "$NODE22_PREFIX"
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$NODE22_PREFIX" node@22 >/dev/null
  installed+=("node $("$NODE22_PREFIX/node_modules/.bin/node" --version) ($NODE22_PREFIX)")
fi

# --- Python cryptography -----------------------------------------------------
# The python3 first on PATH may be a pyenv build that does not see Debian's
# dist-packages; the tests look for a Python that imports cryptography in
# this order, so check the same way here.
if python3 -c 'import cryptography' >/dev/null 2>&1; then
  present+=("python3 cryptography $(python3 -c 'import cryptography; print(cryptography.__version__)') ($(command -v python3))")
elif /usr/bin/python3 -c 'import cryptography' >/dev/null 2>&1; then
  present+=("python3 cryptography $(/usr/bin/python3 -c 'import cryptography; print(cryptography.__version__)') (/usr/bin/python3)")
else
  say "no Python with cryptography found even after installing python3-cryptography" >&2
  exit 1
fi

# --- Docker engine -----------------------------------------------------------
if docker info >/dev/null 2>&1; then
  present+=("docker engine (answering)")
else
  need_root "the Docker engine"
  if command -v systemctl >/dev/null 2>&1 && systemctl start docker >/dev/null 2>&1; then
    :
  else
    nohup dockerd >/var/log/dockerd.log 2>&1 &
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    say "the Docker engine did not answer within 60 s; see /var/log/dockerd.log" >&2
    exit 1
  fi
  installed+=("docker engine (started)")
fi

say "installed/started: ${installed[*]:-nothing}"
say "already present:   ${present[*]:-nothing}"
