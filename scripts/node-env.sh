# Source this file to put Node.js 22 first on PATH when the system Node is older.
# (scripts/install-prerequisites.sh installs it into $NODE22_PREFIX.)
NODE22_PREFIX="${NODE22_PREFIX:-$HOME/.node22}"
if ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 22 ]; then
  export PATH="$NODE22_PREFIX/node_modules/.bin:$PATH"
fi
