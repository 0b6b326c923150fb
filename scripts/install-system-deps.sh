#!/usr/bin/env bash
# Installs, with apt, the real parts the lab and the tests drive: containerd + ctr, dockerd,
# skopeo, podman, buildah and umoci (the doctor's differential suite), Chromium (+ driver), GNU time (benchmarks) and
# npm (fetches the site's one vendored browser asset), a CJK font (browser screenshots), and
# mmdebstrap + apt-utils (the apt runbook's Debian chroot and its local apt repository).
#
# Idempotent: packages already installed are left alone and apt is not called.
# Never (re)starts, reconfigures or stops a system containerd/dockerd: while it installs,
# a policy-rc.d forbids service starts, and it is removed afterwards, also on failure.
#
# Exit status: 0 all present; 1 something is missing and cannot be installed here
# (not root, no apt); 2 apt failed (the failing package is named) or an argument was given.
set -euo pipefail
if [ $# -gt 0 ]; then
  echo "install-system-deps: error: unexpected argument '$1'; this script takes none (see the comment at its top)" >&2
  exit 2
fi

APT_GET=${RUNBOOK_APT_GET:-apt-get}
# package:command-that-proves-it (GNU time is checked by path: `time` is also a shell word)
REQUIRED=(
  "containerd:containerd"
  "containerd:ctr"
  "docker.io:dockerd"
  "skopeo:skopeo"
  "podman:podman"
  "buildah:buildah"
  "umoci:umoci"
  "chromium:chromium"
  "chromium-driver:chromedriver"
  "time:/usr/bin/time"
  "util-linux:unshare"
  "npm:npm"
  "gcc:gcc"
  "libc6-dev:/usr/lib/x86_64-linux-gnu/libc.a"
  "libseccomp-dev:/usr/lib/x86_64-linux-gnu/libseccomp.a"
  "pkg-config:pkg-config"
  "fonts-wqy-microhei:/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
  "mmdebstrap:mmdebstrap"
  "apt-utils:apt-ftparchive"
)
# Tests add a package name here to exercise the failure path.
for extra in ${RUNBOOK_EXTRA_PACKAGES:-}; do REQUIRED+=("$extra:/nonexistent/$extra"); done
export PATH="$PATH:/usr/sbin:/sbin"
have() { if [[ $1 == /* ]]; then [ -e "$1" ]; else command -v "$1" >/dev/null 2>&1; fi; }

say() { printf 'install-system-deps: %s\n' "$*"; }
fail() { say "error: $1" >&2; exit "${2:-1}"; }

missing=()
for entry in "${REQUIRED[@]}"; do
  pkg=${entry%%:*} bin=${entry#*:}
  have "$bin" && continue
  case " ${missing[*]-} " in *" $pkg "*) ;; *) missing+=("$pkg") ;; esac
done

if [ ${#missing[@]} -eq 0 ]; then
  say "all system parts present (containerd, ctr, dockerd, skopeo, podman, buildah, umoci, chromium, chromedriver, time, npm, CJK font, mmdebstrap, apt-ftparchive)"
  exit 0
fi

say "missing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  fail "not root, so nothing was installed. Run as root:
  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" 1
fi
if ! command -v "$APT_GET" >/dev/null 2>&1; then
  fail "'$APT_GET' not found: this installer needs Debian/Ubuntu apt. Install these packages with your system's package manager: ${missing[*]}" 1
fi

policy=/usr/sbin/policy-rc.d
created_policy=0
cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT
if [ ! -e "$policy" ]; then
  # 101 = "action forbidden": dpkg's maintainer scripts will not start or restart services.
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
say "apt-get update"
"$APT_GET" update -qq >/dev/null || fail "apt-get update failed; check your apt sources and network" 2
say "apt-get install ${missing[*]}"
log=$(mktemp)
if ! "$APT_GET" install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
  tail -n 15 "$log" >&2
  bad=$(grep -oE "(Unable to locate package|has no installation candidate)[^:]*:? *[^ ]*|E: Package '[^']+'" "$log" | head -n 3 | tr '\n' ' ')
  rm -f "$log"
  fail "apt-get install failed${bad:+ ($bad)}; nothing was started. Fix the package named above and run this script again." 2
fi
rm -f "$log"

for entry in "${REQUIRED[@]}"; do
  bin=${entry#*:}
  have "$bin" || fail "installed ${entry%%:*} but $bin is still missing" 2
done
say "installed: ${missing[*]} (no service was started)"
