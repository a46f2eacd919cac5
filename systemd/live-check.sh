#!/usr/bin/env bash
# systemd/live-check.sh: runs virt-ft-agent.service, unchanged, under a real systemd 252 as PID 1
# on a machine where systemd is NOT PID 1 (CI boxes, containers), and checks that the sandbox
# holds and the agent works inside it (reliability.md §5 S12, "live under the unit").
#
# Manual, as root; not part of CI. Needs: the systemd package, node, a built checkout (dist/),
# cgroup2 (mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified), and a running libvirtd (the test
# bed's: scripts/testbed.sh up). The agent runs with `shadow: true` and policy level `off`: it
# watches the host's domains and never acts on them.
#
# How: systemd boots in new mount/pid/net/uts/ipc/cgroup namespaces, chrooted into an overlay of
# / whose writes go to a tmpfs, with the host's /run/libvirt bound in and the checkout bound
# read-only at /opt/virt-ft. Units that would change the host kernel (sysctl, binfmt, modules,
# pstore, udev) are masked first. The only host change is a cgroup2 directory `vft-live-<pid>`,
# removed at the end. Output: one PASS/FAIL line per check; exit 1 if any failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ $(id -u) -eq 0 ]] || {
  echo 'live-check: run as root'
  exit 2
}
[[ -f $ROOT/dist/agent/main.js ]] || {
  echo 'live-check: build first (npm run build)'
  exit 2
}
[[ -S /run/libvirt/libvirt-sock || -S /run/libvirt/virtqemud-sock ]] || {
  echo 'live-check: no libvirt socket in /run/libvirt (scripts/testbed.sh up)'
  exit 2
}
if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then CG=/sys/fs/cgroup; else CG=/sys/fs/cgroup/unified; fi
[[ -f $CG/cgroup.procs ]] || {
  echo 'live-check: no cgroup2 hierarchy found'
  exit 2
}

W=$(mktemp -d /tmp/vft-live-check.XXXXXX)
CGDIR=$CG/vft-live-$$
PID1=''
failures=0

cleanup() {
  if [[ -n $PID1 ]] && kill -0 "$PID1" 2>/dev/null; then
    ns systemctl poweroff >/dev/null 2>&1 || true
    for _ in $(seq 50); do kill -0 "$PID1" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$PID1" 2>/dev/null || true
  fi
  # The namespace's cgroups, deepest first.
  if [[ -d $CGDIR ]]; then find "$CGDIR" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
  rm -rf "$W"
}
trap cleanup EXIT

ns() { nsenter -t "$PID1" -m -p -u -i -n -r -w -- "$@"; }
check() { # check NAME EXPECTED ACTUAL: passes when ACTUAL contains EXPECTED
  local got=${3//$'\n'/ }
  if [[ $got == *"$2"* ]]; then
    printf 'PASS  %-38s %s\n' "$1" "${got:0:100}"
  else
    printf 'FAIL  %-38s want "%s", got "%s"\n' "$1" "$2" "${got:0:300}"
    failures=$((failures + 1))
  fi
}

TOKEN=live-check-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
HASH=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
UNIT=$ROOT/systemd/virt-ft-agent.service

# ---- files placed into the overlay
mkdir -p "$W/files"
cat >"$W/files/agent.jsonc" <<EOF
// live-check: watch only; never act on the host's domains
{
  "shadow": true,
  "policy": { "level": "off", "guestAgent": { "enabled": false } },
  "health": { "intervalMs": 60000 },
  "stream": { "listen": "127.0.0.1:7443", "tokens": [{ "id": "live-check", "role": "viewer", "sha256": "$HASH" }] }
}
EOF
# Probe units: the agent's unit with only Type=, ExecStart= and SyslogIdentifier= changed.
probe_unit() { # NAME EXECSTART
  sed -e 's#^Type=exec#Type=oneshot#' -e "s#^ExecStart=.*#ExecStart=$2#" \
    -e "s#^SyslogIdentifier=.*#SyslogIdentifier=$1#" "$UNIT" >"$W/files/$1.service"
}
probe_unit vft-probe '/bin/bash /usr/local/lib/vft-probe/probe.sh'
probe_unit vft-probe-node '/usr/bin/node /usr/local/lib/vft-probe/probe.mjs'
cat >"$W/files/probe.sh" <<'EOF'
#!/bin/bash
r() { local k=$1 out; shift; if out=$("$@" 2>&1); then echo "PROBE $k=ok ${out//$'\n'/ }"; else echo "PROBE $k=err ${out//$'\n'/ }"; fi; }
echo "PROBE capeff=$(awk '/^CapEff/ {print $2}' /proc/self/status)"
echo "PROBE nonewprivs=$(awk '/^NoNewPrivs/ {print $2}' /proc/self/status)"
echo "PROBE seccomp=$(awk '/^Seccomp:/ {print $2}' /proc/self/status)"
r write-statedir touch /var/lib/virt-ft/.probe
r write-etc touch /etc/vft-probe
r write-opt touch /opt/virt-ft/vft-probe
r write-run-libvirt touch /run/libvirt/vft-probe
r write-dev touch /dev/vft-probe
r list-home ls /home
r statedir-mode stat -c '%a %U:%G' /var/lib/virt-ft
r af-netlink /usr/bin/python3 -c 'import socket; socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)'
r af-packet /usr/bin/python3 -c 'import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)'
r sys-block-read sh -c 'for f in /sys/class/block/*/dev; do cat "$f"; done'
r sys-write sh -c 'echo 1 > /proc/sys/vm/drop_caches'
r setclock date -s 2020-01-01
r mount mount -t tmpfs tmpfs /mnt
r smartctl /usr/sbin/smartctl --version
EOF
cat >"$W/files/probe.mjs" <<'EOF'
import net from 'node:net';
import os from 'node:os';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
const p = (k, v) => console.log(`PROBE node-${k}=${v}`);
let s = 0;
for (let i = 0; i < 5e6; i++) s += i; // JIT-compiled: V8 runs under the seccomp filter
p('jit', s === 12499997500000 ? 'ok' : 'bad');
p('totalmem', os.totalmem() > 0 ? 'ok' : 'zero');
try { writeFileSync('/etc/vft-node-probe', 'x'); p('write-etc', 'WRITABLE'); } catch (e) { p('write-etc', e.code); }
execFile('/usr/sbin/smartctl', ['--version'], (e) => p('spawn', e ? e.code : 'ok'));
net.connect('/run/libvirt/libvirt-sock').on('connect', function () { p('libvirt-sock', 'connected'); this.destroy(); }).on('error', (e) => p('libvirt-sock', e.code));
const c = net.connect({ port: 80, host: '192.0.2.1', timeout: 3000 });
c.on('connect', () => p('ip-filter', 'CONNECTED')).on('error', (e) => p('ip-filter', e.code)).on('timeout', () => { p('ip-filter', 'dropped'); c.destroy(); });
EOF
cat >"$W/files/stream-client.cjs" <<'EOF'
const WebSocket = require('/opt/virt-ft/node_modules/ws');
const ws = new WebSocket('ws://127.0.0.1:7443/v1/stream', 'virt-ft.v1', { headers: { Authorization: `Bearer ${process.argv[2]}` } });
ws.on('message', (m) => { const j = JSON.parse(m); if (j.type === 'hello') { console.log(`hello ${j.principal.id} ${j.principal.role}`); ws.close(); } });
ws.on('error', (e) => console.log(`error ${e.message}`));
setTimeout(() => process.exit(0), 5000).unref();
EOF

# ---- the boot script, run as PID 1 of the new namespaces
cat >"$W/boot.sh" <<EOF
#!/bin/bash
set -euo pipefail
mount -t tmpfs -o size=512m tmpfs "$W/t" 2>/dev/null || { mkdir -p "$W/t"; mount -t tmpfs -o size=512m tmpfs "$W/t"; }
mkdir -p "$W/t/upper" "$W/t/work" "$W/t/m"
M=$W/t/m
mount -t overlay overlay -o lowerdir=/,upperdir=$W/t/upper,workdir=$W/t/work \$M
mount -t proc proc \$M/proc
mount -t sysfs sysfs \$M/sys
mount -t cgroup2 cgroup2 \$M/sys/fs/cgroup
mount --rbind /dev \$M/dev
mount -t tmpfs -o mode=755 tmpfs \$M/run
mkdir -p \$M/run/libvirt && mount --bind /run/libvirt \$M/run/libvirt
mount -t tmpfs -o mode=1777 tmpfs \$M/tmp
mkdir -p \$M/opt/virt-ft && mount --bind $ROOT \$M/opt/virt-ft && mount -o remount,bind,ro \$M/opt/virt-ft
E=\$M/etc/systemd/system
for u in systemd-sysctl.service systemd-binfmt.service proc-sys-fs-binfmt_misc.automount \\
  proc-sys-fs-binfmt_misc.mount systemd-modules-load.service kmod-static-nodes.service \\
  systemd-tmpfiles-setup-dev.service systemd-tmpfiles-setup-dev-early.service systemd-pstore.service \\
  systemd-udevd.service systemd-udev-trigger.service systemd-random-seed.service \\
  systemd-remount-fs.service timers.target sys-kernel-debug.mount sys-kernel-tracing.mount \\
  sys-fs-fuse-connections.mount dev-hugepages.mount; do
  ln -sf /dev/null \$E/\$u
done
cp $UNIT $W/files/vft-probe.service $W/files/vft-probe-node.service \$E/
mkdir -p \$M/etc/virt-ft \$M/usr/local/lib/vft-probe
install -m 0640 $W/files/agent.jsonc \$M/etc/virt-ft/agent.jsonc
cp $W/files/probe.sh $W/files/probe.mjs $W/files/stream-client.cjs \$M/usr/local/lib/vft-probe/
export container=vft-live-check
exec chroot \$M /lib/systemd/systemd --system --unit=basic.target --log-level=warning
EOF
chmod +x "$W/boot.sh"
mkdir -p "$W/t" "$CGDIR"

echo "live-check: booting $(systemd-analyze --version | head -n 1) as PID 1 in namespaces (work dir $W)"
(
  echo $BASHPID >"$CGDIR/cgroup.procs"
  exec unshare --mount --pid --fork --uts --ipc --net --cgroup --propagation private "$W/boot.sh"
) >"$W/boot.log" 2>&1 &
USH=$!
for _ in $(seq 100); do
  PID1=$(pgrep -P "$USH" -x systemd || true)
  [[ -n $PID1 ]] && break
  sleep 0.2
done
[[ -n $PID1 ]] || {
  cat "$W/boot.log"
  echo 'live-check: systemd did not come up'
  exit 1
}
for _ in $(seq 100); do
  ns systemctl is-system-running --wait >/dev/null 2>&1 && break
  [[ $(ns systemctl is-system-running 2>&1 || true) == degraded ]] && break
  sleep 0.2
done
state=$(ns systemctl is-system-running 2>&1 || true)
echo "live-check: systemd up (PID $PID1 on the host), state: $state"
ns ip link set lo up
ns ip addr add 192.0.2.1/32 dev lo

# ---- 1. the sandbox, probed from inside the unit's own settings
ns systemctl start vft-probe.service vft-probe-node.service || true
sleep 4
P=$(ns journalctl --no-pager -o cat -t vft-probe -t vft-probe-node | sed -n 's/^PROBE //p')
v() { printf '%s\n' "$P" | sed -n "s/^$1=//p" | head -n 1; }
check 'CapEff = RAWIO + SYS_ADMIN' '0000000000220000' "$(v capeff)"
check 'NoNewPrivs' '1' "$(v nonewprivs)"
check 'seccomp filter active' '2' "$(v seccomp)"
check 'state dir writable' 'ok' "$(v write-statedir)"
check 'state dir root 0700' 'ok 700 root:root' "$(v statedir-mode)"
check '/etc read-only' 'Read-only file system' "$(v write-etc)"
check '/opt read-only' 'Read-only file system' "$(v write-opt)"
check '/run/libvirt read-only' 'Read-only file system' "$(v write-run-libvirt)"
check '/dev read-only' 'Read-only file system' "$(v write-dev)"
check '/home inaccessible' 'Permission denied' "$(v list-home)"
check 'AF_NETLINK refused' 'err' "$(v af-netlink)"
check 'AF_PACKET refused' 'err' "$(v af-packet)"
check '/sys readable' 'ok' "$(v sys-block-read)"
check '/proc/sys read-only' 'Read-only file system' "$(v sys-write)"
check 'clock cannot be set' 'err' "$(v setclock)"
check 'mount refused' 'err' "$(v mount)"
check 'smartctl runs' 'ok' "$(v smartctl)"
check 'node starts, JIT works (no MDWE)' 'ok' "$(v node-jit)"
check 'node reads /proc/meminfo' 'ok' "$(v node-totalmem)"
check 'node: /etc read-only' 'EROFS' "$(v node-write-etc)"
check 'node spawns smartctl' 'ok' "$(v node-spawn)"
check 'node connects to libvirt socket' 'connected' "$(v node-libvirt-sock)"
check 'IPAddressDeny drops 192.0.2.1' 'dropped' "$(v node-ip-filter)"
outside=$(ns /usr/bin/python3 -c 'import socket; s=socket.socket(); s.settimeout(3); s.connect(("192.0.2.1",80))' 2>&1 | tail -n 1 || true)
check '... while outside the unit: refused' 'ConnectionRefused' "$outside"

# ---- 2. the agent itself
ns systemctl start virt-ft-agent.service
sleep 6
check 'agent running' 'active' "$(ns systemctl is-active virt-ft-agent 2>&1 || true)"
log=$(ns journalctl -u virt-ft-agent --no-pager -o cat)
check 'agent started' 'virt-ft agent started' "$(printf '%s\n' "$log" | grep 'agent started' || true)"
check 'agent: libvirt connected (status.json)' '"connected": true' "$(ns grep -A2 '"libvirt"' /var/lib/virt-ft/status.json 2>&1)"
check 'stream: token accepted' 'hello live-check viewer' "$(ns node /usr/local/lib/vft-probe/stream-client.cjs "$TOKEN" 2>&1)"

t0=$(date +%s%N)
ns systemctl stop virt-ft-agent.service
ms=$((($(date +%s%N) - t0) / 1000000))
check 'SIGTERM: clean stop' 'Result=success' "$(ns systemctl show -p Result virt-ft-agent)"
check 'SIGTERM: stopped in < 20 s' 'yes' "$( ((ms < 20000)) && echo "yes ($ms ms)" || echo "no ($ms ms)")"

ns systemctl start virt-ft-agent.service
sleep 2
ns systemctl kill -s SIGKILL --kill-whom=main virt-ft-agent.service
sleep 4
check 'SIGKILL: restarted after RestartSec' 'NRestarts=1' "$(ns systemctl show -p NRestarts virt-ft-agent)"
check 'SIGKILL: running again' 'active' "$(ns systemctl is-active virt-ft-agent 2>&1 || true)"

echo '{ "policy": { "level": "ultra" } }' | ns tee /etc/virt-ft/agent.jsonc >/dev/null
ns systemctl restart virt-ft-agent.service || true
sleep 5
check 'invalid config: exit 78' 'ExecMainStatus=78' "$(ns systemctl show -p ExecMainStatus virt-ft-agent)"
check 'invalid config: not restarted' 'failed' "$(ns systemctl is-active virt-ft-agent 2>&1 || true)"
check 'invalid config: problem logged' 'policy.level' "$(ns journalctl -u virt-ft-agent --no-pager -o cat -n 5 | grep 'policy.level' || true)"

if ((failures > 0)); then
  echo "live-check: $failures check(s) FAILED"
  exit 1
fi
echo 'live-check: all checks passed'
