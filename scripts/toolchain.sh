#!/usr/bin/env bash
# Source this file: it puts Node >= 22.12 and pnpm 12 on PATH, installing them from the npm registry
# (the `node@24` and `pnpm@12` packages) into a cache folder when the machine does not have them.
# The machines ship Node 20, which vitest 5 and nock 15 do not run on.

CTI_NODE_VERSION="${CTI_NODE_VERSION:-24}"
CTI_PNPM_VERSION="${CTI_PNPM_VERSION:-12.21.0}"
CTI_TOOLCHAIN_DIR="${CTI_TOOLCHAIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cti-toolchain}"

cti_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=12)?0:1)'
}

cti_pnpm_ok() {
  command -v pnpm >/dev/null 2>&1 || return 1
  case "$(pnpm --version 2>/dev/null)" in 12.*) return 0 ;; *) return 1 ;; esac
}

if [ -x "$CTI_TOOLCHAIN_DIR/node_modules/.bin/node" ]; then
  export PATH="$CTI_TOOLCHAIN_DIR/node_modules/.bin:$PATH"
fi

if ! cti_node_ok || ! cti_pnpm_ok; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "toolchain: npm is needed to install Node $CTI_NODE_VERSION and pnpm $CTI_PNPM_VERSION" >&2
    return 1 2>/dev/null || exit 1
  fi
  echo "toolchain: installing node@$CTI_NODE_VERSION and pnpm@$CTI_PNPM_VERSION into $CTI_TOOLCHAIN_DIR" >&2
  mkdir -p "$CTI_TOOLCHAIN_DIR"
  [ -f "$CTI_TOOLCHAIN_DIR/package.json" ] || echo '{"name":"cti-toolchain","private":true}' >"$CTI_TOOLCHAIN_DIR/package.json"
  (cd "$CTI_TOOLCHAIN_DIR" && npm install --no-audit --no-fund --loglevel=error \
    "node@$CTI_NODE_VERSION" "pnpm@$CTI_PNPM_VERSION" 2>&1 | grep -v 'Unknown user config' >&2) || true
  export PATH="$CTI_TOOLCHAIN_DIR/node_modules/.bin:$PATH"
  if ! cti_node_ok || ! cti_pnpm_ok; then
    echo "toolchain: could not install Node >= 22.12 and pnpm 12 (node: $(node --version 2>&1), pnpm: $(pnpm --version 2>&1))" >&2
    return 1 2>/dev/null || exit 1
  fi
fi
hash -r
