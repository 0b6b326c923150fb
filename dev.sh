#!/usr/bin/env bash
# The two commands of this project (see README):
#   ./dev.sh site   install what is missing, execute the runbooks, build the verified site/
#   ./dev.sh test   the same, then the whole test suite (unit, daemons, site, browser)
# Both are idempotent and print what they do.
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3}
VENV=.venv
step() { printf '\n==> %s\n' "$*"; }

setup() {
  step "system parts (containerd, dockerd, skopeo, chromium, go)"
  if [ "$(id -u)" -ne 0 ]; then
    echo "dev.sh: the lab runs real containerd and dockerd, which needs root." >&2
    bash scripts/install-system-deps.sh || true
    echo "dev.sh: run this command as root (e.g. sudo ./dev.sh $1)." >&2
    exit 1
  fi
  bash scripts/install-system-deps.sh

  step "python environment ($VENV)"
  if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "dev.sh: Python >= 3.11 is needed as '$PY' (set PYTHON=/path/to/python3.11)." >&2
    exit 1
  fi
  local stamp="$VENV/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
  if [ ! -e "$stamp" ]; then
    [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[site,test]"
    rm -f "$VENV"/.installed-*
    touch "$stamp"
  else
    echo "up to date"
  fi

  step "vendored browser assets"
  bash scripts/vendor-assets.sh
}

build_site() {
  step "engines: real dockerd, docker, containerd, crictl, kind built from their Go modules (cached)"
  "$VENV/bin/runbook-exec" engines build
  step "execute runbooks (cached when nothing changed)"
  "$VENV/bin/runbook-exec" run
  step "build the site (strict)"
  NO_MKDOCS_2_WARNING=1 "$VENV/bin/mkdocs" build --strict --site-dir site
}

case "${1:-}" in
  site)
    setup site
    build_site
    step "done: site/ (Chinese at /, English at /en/)"
    ;;
  test)
    setup test
    build_site
    step "tests"
    "$VENV/bin/python" -m pytest "${@:2}"
    ;;
  -h|--help|help)
    echo "usage: ./dev.sh site | ./dev.sh test [pytest args]"
    ;;
  "")
    echo "dev.sh: error: no command given; usage: ./dev.sh site | ./dev.sh test [pytest args]" >&2
    exit 2
    ;;
  *)
    echo "dev.sh: error: unknown command '$1'; usage: ./dev.sh site | ./dev.sh test [pytest args]" >&2
    exit 2
    ;;
esac
