#!/usr/bin/env bash
# scripts/check-systemd.sh [DIR]: static checks of virt-ft's systemd files (default DIR: systemd/).
# Runs without systemd as PID 1 (CI containers); needs systemd-analyze and systemd-tmpfiles from
# the Debian package `systemd`. Exits non-zero when any check fails.
#
# 1. `systemd-analyze verify --man=no` of every *.service in DIR must exit 0 AND print nothing.
#    verify exits 0 on unknown directives and unparsable values (it only warns, "…, ignoring"),
#    so any output at all is a failure.
#    verify fails when ExecStart='s executable does not exist, and /usr/bin/node may not be where
#    CI has node. So the unit verified is a COPY in a temporary directory, with ExecStart='s
#    installed paths rewritten to paths of this machine and checkout:
#      /usr/bin/node                      → $(command -v node)
#      /opt/virt-ft/dist/agent/main.js    → <checkout>/dist/agent/main.js
#      /etc/virt-ft/agent.jsonc           → <checkout>/systemd/agent.example.jsonc
#    Nothing else is changed, and the script prints each rewritten line. (verify checks only the
#    executable; it does not look at the script or config arguments.)
# 2. `systemd-analyze security --offline=yes --threshold=25` of every *.service: exposure <= 2.5
#    (the threshold is on a 0-100 scale). Override with VFT_EXPOSURE_THRESHOLD.
# 3. Every *.tmpfiles.conf in DIR is applied by `systemd-tmpfiles --create` to an empty
#    temporary root: it must print nothing, and /var/lib/virt-ft must come out root:root 0700
#    (as root only: as another user the chown cannot work, so this check is skipped).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=$(cd "${1:-$ROOT/systemd}" && pwd)
THRESHOLD=${VFT_EXPOSURE_THRESHOLD:-25}
MAX_EXPOSURE=$(awk -v t="$THRESHOLD" 'BEGIN { printf "%.1f", t / 10 }')
failures=0

fail() {
  printf 'FAIL: %s\n' "$*"
  failures=$((failures + 1))
}

# lines TEXT: how many lines TEXT has (0 for an empty string).
lines() { if [[ -z $1 ]]; then echo 0; else printf '%s\n' "$1" | wc -l; fi; }

for tool in systemd-analyze systemd-tmpfiles; do
  if ! command -v "$tool" >/dev/null; then
    echo "FAIL: $tool not found: apt-get install -y --no-install-recommends systemd"
    exit 1
  fi
done
NODE=$(command -v node || true)
if [[ -z $NODE ]]; then
  echo 'FAIL: node not found (needed as the ExecStart executable of the verified copy)'
  exit 1
fi
NODE=$(readlink -f "$NODE")

echo "check-systemd: $(systemd-analyze --version | head -n 1); units from $DIR"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

shopt -s nullglob
units=("$DIR"/*.service)
if ((${#units[@]} == 0)); then
  fail "no *.service file in $DIR"
fi

for unit in "${units[@]}"; do
  name=$(basename "$unit")
  mkdir -p "$TMP/verify"
  copy=$TMP/verify/$name
  sed -e "s#^\(ExecStart=.*\)/usr/bin/node #\1$NODE #" \
    -e "s#/opt/virt-ft/dist/agent/main\.js#$ROOT/dist/agent/main.js#" \
    -e "s#/etc/virt-ft/agent\.jsonc#$ROOT/systemd/agent.example.jsonc#" \
    "$unit" >"$copy"
  echo "== $name: systemd-analyze verify --man=no (a copy; ExecStart= rewritten):"
  diff "$unit" "$copy" | sed -n 's/^> /   /p' || true

  rc=0
  out=$(cd "$TMP/verify" && systemd-analyze verify --man=no "$copy" 2>&1) || rc=$?
  if ((rc != 0)) || [[ -n $out ]]; then
    printf '%s\n' "$out" | sed "s#$TMP/verify/#$DIR/#g"
    fail "$name: systemd-analyze verify exited $rc and printed $(lines "$out") line(s); it must print nothing"
  else
    echo "   ok: exit 0, no output"
  fi

  echo "== $name: systemd-analyze security --offline=yes --threshold=$THRESHOLD (exposure <= $MAX_EXPOSURE)"
  rc=0
  out=$(systemd-analyze security --offline=yes --threshold="$THRESHOLD" "$unit" 2>&1) || rc=$?
  score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  if ((rc != 0)) || [[ -z $score ]]; then
    printf '%s\n' "$out"
    fail "$name: exposure ${score:-?} is above $MAX_EXPOSURE (or security failed: exit $rc)"
  else
    printf '%s\n' "$out" | grep '✗' | sed 's/  \+/  /g; s/^/   /' || true
    echo "   ok: exposure $score <= $MAX_EXPOSURE"
  fi
done

confs=("$DIR"/*.tmpfiles.conf)
if ((${#confs[@]} == 0)); then
  fail "no *.tmpfiles.conf file in $DIR"
fi
for conf in "${confs[@]}"; do
  name=$(basename "$conf")
  echo "== $name: systemd-tmpfiles --create in an empty root"
  if (($(id -u) != 0)); then
    echo "   SKIP: needs root (it creates root-owned directories)"
    continue
  fi
  root=$TMP/tmpfiles-root
  rm -rf "$root"
  mkdir -p "$root/usr/lib/tmpfiles.d"
  cp "$conf" "$root/usr/lib/tmpfiles.d/virt-ft.conf"
  rc=0
  out=$(systemd-tmpfiles --root="$root" --create virt-ft.conf 2>&1) || rc=$?
  got=$(stat -c '%a %U %G' "$root/var/lib/virt-ft" 2>/dev/null || echo missing)
  if ((rc != 0)) || [[ -n $out ]] || [[ $got != '700 root root' ]]; then
    [[ -z $out ]] || printf '%s\n' "$out"
    fail "$name: systemd-tmpfiles exited $rc, printed $(lines "$out") line(s), /var/lib/virt-ft is '$got' (want '700 root root')"
  else
    echo "   ok: /var/lib/virt-ft created root:root 0700, no output"
  fi
done

if ((failures > 0)); then
  echo "check-systemd: $failures check(s) FAILED"
  exit 1
fi
echo 'check-systemd: all checks passed'
