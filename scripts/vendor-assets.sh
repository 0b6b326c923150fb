#!/usr/bin/env bash
# Brings the one third-party browser asset the site ships (mermaid, for diagrams) from the
# npm registry into build/vendor/, checks its digest, and copies it where mkdocs serves it.
# The site must never load anything from another host at page load (air-gapped readers).
set -euo pipefail
if [ $# -gt 0 ]; then
  echo "vendor-assets: error: unexpected argument '$1'; this script takes none (see the comment at its top)" >&2
  exit 2
fi
cd "$(dirname "$0")/.."

MERMAID_VERSION=11.17.2
MERMAID_SHA256=${MERMAID_SHA256:-$(cat scripts/mermaid.sha256)}
dest=docs/assets/vendor/mermaid.min.js

if [ -f "$dest" ] && [ "$(sha256sum "$dest" | cut -d' ' -f1)" = "$MERMAID_SHA256" ]; then
  echo "vendor-assets: mermaid $MERMAID_VERSION present"
  exit 0
fi
command -v npm >/dev/null || { echo "vendor-assets: error: npm not found; run scripts/install-system-deps.sh as root" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "mermaid@$MERMAID_VERSION" --silent >/dev/null)
tar -xzf "$work/mermaid-$MERMAID_VERSION.tgz" -C "$work" package/dist/mermaid.min.js
got=$(sha256sum "$work/package/dist/mermaid.min.js" | cut -d' ' -f1)
if [ "$got" != "$MERMAID_SHA256" ]; then
  echo "vendor-assets: error: mermaid.min.js sha256 $got, expected $MERMAID_SHA256 (scripts/mermaid.sha256); nothing was copied: check the npm registry you use, or update the pin if the version changed on purpose" >&2
  exit 1
fi
mkdir -p "$(dirname "$dest")"
cp "$work/package/dist/mermaid.min.js" "$dest"
echo "vendor-assets: mermaid $MERMAID_VERSION -> $dest"
