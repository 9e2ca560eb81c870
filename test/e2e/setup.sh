#!/usr/bin/env bash
# Provisions the end-to-end harness (see docs/testing.md): Debian's chromium, ripgrep and
# Kerberos headers, then code-server 4.100.3 (real VS Code 1.100.3, runs on Node 20) in
# test/e2e/node_modules. Idempotent and quick when everything is there: `npm ci` is
# skipped while the installed tree matches package-lock.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# --- system packages -------------------------------------------------------------------
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
# code-server's kerberos module builds from source against these headers
command -v krb5-config >/dev/null 2>&1 || missing+=(libkrb5-dev)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "e2e setup: installing ${missing[*]} (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "e2e setup: missing system packages: ${missing[*]}" >&2
    echo "  install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# --- the extension bundle the tests load ------------------------------------------------
if [ ! -f "$root/dist/client.js" ] || [ ! -f "$root/dist/webview.js" ]; then
  echo "e2e setup: building dist/ (npm run build)"
  (cd "$root" && npm run build --silent)
fi

# --- code-server ------------------------------------------------------------------------
stamp="$here/node_modules/.e2e-lock.sha256"
want="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$here/node_modules/code-server/out/node/entry.js" ]; then
  exit 0
fi
# @vscode/ripgrep's postinstall downloads rg from GitHub (unreachable offline) unless its
# cache in os.tmpdir() already holds the release tarball: Debian's rg stands in for it.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cache="$tmp/vscode-ripgrep-cache-1.15.11"
mkdir -p "$cache"
cp "$(command -v rg)" "$tmp/rg"
tar -czf "$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$tmp" rg
echo "e2e setup: installing code-server (npm ci in test/e2e; about a minute)"
# npm 11 dropped --unsafe-perm (root installs need it for code-server's postinstall) and
# node-pty's build runs `npx node-gyp`, which must not prompt.
(cd "$here" && TMPDIR="$tmp" npm_config_unsafe_perm=true npm_config_yes=true \
  npm ci --no-audit --no-fund --loglevel=error)
echo "$want" >"$stamp"
