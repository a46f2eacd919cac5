#!/usr/bin/env bash
# scripts/testbed.sh: the project's own real libvirt + QEMU test bed (Debian 12, as root, no systemd).
#
#   install  Debian packages, users/groups and directories libvirtd needs (idempotent)
#   start    virtlogd + libvirtd as plain daemons; waits until qemu:///system answers
#   stop     stops them (running QEMU processes are left alone)
#   guest    builds the tiny Linux guest (kernel + busybox initramfs) into $VFT_TESTBED_DIR
#   up       install + start + guest: what CI and the integration tests need
#   demo     up, build the project, (re)start the crash-looping demo guest `vft-demo`, exec the
#            agent's event stream
#   status   what is installed/running
#   clean    destroy + undefine every vft-test-* / vft-demo* domain and remove their files
#
# Environment:
#   VFT_TESTBED_DIR  where the guest and testbed.env go (default /var/lib/virt-ft-testbed)
#   VFT_VIRT_TYPE    domain type for the guests: qemu (TCG, default) or kvm (real hosts)
#
# docs/testbed.md explains the guest's kernel command line (vft.mode=..., vft.after=...).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TESTBED_DIR=${VFT_TESTBED_DIR:-/var/lib/virt-ft-testbed}
VIRT_TYPE=${VFT_VIRT_TYPE:-qemu}
CONNECT=qemu:///system
IMAGES_DIR=/var/lib/libvirt/images
CONSOLE_DIR=$TESTBED_DIR/console
CACHE_DIR=$TESTBED_DIR/cache
LIBVIRTD_PIDFILE=/run/libvirtd.pid
VIRTLOGD_PIDFILE=/run/virtlogd.pid
LIBVIRT_SOCK=/run/libvirt/libvirt-sock
START_DEADLINE_S=${VFT_START_DEADLINE_S:-120}
# Bump when the guest's layout changes in a way the input hash would not see.
GUEST_FORMAT=3

PACKAGES=(
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils
  smartmontools python3-libvirt cpio busybox-static qemu-guest-agent
  # openssl: the TLS transport test makes its certificates at run time.
  openssl
)

log() { printf '[testbed] %s\n' "$*" >&2; }
die() {
  printf '[testbed] ERROR: %s\n' "$*" >&2
  exit 1
}
need_root() { [[ $(id -u) -eq 0 ]] || die "run as root (sudo $0 $*)"; }
virsh_c() { virsh -q -c "$CONNECT" "$@"; }

# ---------------------------------------------------------------- install

apt_update_if_stale() {
  local stamp=/var/lib/apt/virt-ft-testbed-update.stamp
  if [[ -f $stamp ]] && [[ -n $(find "$stamp" -mmin -60 2>/dev/null) ]]; then
    return 0
  fi
  log "apt-get update"
  if apt-get update -qq; then
    touch "$stamp"
  else
    log "apt-get update failed: going on with the package lists as they are"
  fi
}

pkg_installed() {
  [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) == "ii"* ]]
}

cmd_install() {
  need_root install
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    pkg_installed "$p" || missing+=("$p")
  done
  if ((${#missing[@]} > 0)); then
    apt_update_if_stale
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null
  fi
  # libvirtd's QEMU driver refuses to start without its user (libvirt-daemon-system would create
  # it, but that package pulls in the systemd integration).
  getent group kvm >/dev/null || groupadd --system kvm
  getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
  if ! getent passwd libvirt-qemu >/dev/null; then
    useradd --system --gid libvirt-qemu --groups kvm --home-dir /var/lib/libvirt \
      --no-create-home --shell /usr/sbin/nologin libvirt-qemu
  fi
  mkdir -p /var/log/libvirt /var/run/libvirt /var/lib/libvirt/images
}

# /dev/kvm as udev would leave it (root:kvm 0660). Without it libvirtd's capability probe (which
# gets KVM) and its later "is KVM usable by libvirt-qemu?" check disagree, so it throws the
# cached capabilities away and re-probes QEMU (~2-4 s a time, ~20 times) on EVERY domain start.
fix_dev_kvm() {
  if [[ -c /dev/kvm ]] && getent group kvm >/dev/null; then
    chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
  fi
}

# ---------------------------------------------------------------- daemons

# pid_alive PIDFILE NAME: the pid file names a live (not zombie) process whose command is NAME.
pid_alive() {
  local pid
  [[ -r $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/comm && $(<"/proc/$pid/comm") == "$2" ]] || return 1
  ! grep -qE '^State:[[:space:]]*[ZX]' "/proc/$pid/status" 2>/dev/null
}

# pid_dead PIDFILE NAME: the pid file names a pid, and that pid is not a live NAME.
pid_dead() {
  [[ -r $1 && $(<"$1") =~ ^[0-9]+$ ]] && ! pid_alive "$1" "$2"
}

libvirt_answers() { timeout "${1:-5}" virsh -c "$CONNECT" uri >/dev/null 2>&1; }

start_libvirtd_if_dead() {
  pid_alive "$LIBVIRTD_PIDFILE" libvirtd && return 0
  # A socket file left by a dead daemon must not fool anyone: remove it with the pid file.
  rm -f "$LIBVIRTD_PIDFILE" "$LIBVIRT_SOCK" /run/libvirt/libvirt-sock-ro \
    /run/libvirt/libvirt-admin-sock
  log "starting libvirtd"
  LIBVIRT_LOG_OUTPUTS="3:file:/var/log/libvirt/libvirtd.log" libvirtd -d \
    </dev/null >/dev/null 2>&1 9>&-
}

cmd_start() {
  need_root start
  command -v libvirtd >/dev/null || die "libvirtd is not installed: run '$0 install' first"
  mkdir -p /var/log/libvirt /var/run/libvirt
  fix_dev_kvm
  if ! pid_alive "$VIRTLOGD_PIDFILE" virtlogd; then
    rm -f "$VIRTLOGD_PIDFILE" /run/libvirt/virtlogd-sock /run/libvirt/virtlogd-admin-sock
    log "starting virtlogd"
    LIBVIRT_LOG_OUTPUTS="3:file:/var/log/libvirt/virtlogd.log" virtlogd -d \
      </dev/null >/dev/null 2>&1 9>&-
  fi
  start_libvirtd_if_dead
  local t0=$SECONDS deadline=$((SECONDS + START_DEADLINE_S)) restarts=0
  until libvirt_answers 60; do
    if ((SECONDS >= deadline)); then
      tail -n 20 /var/log/libvirt/libvirtd.log >&2 || true
      die "libvirtd did not answer on $CONNECT within ${START_DEADLINE_S}s"
    fi
    # The daemonized child writes its pid file a moment after `libvirtd -d` returns. A daemon
    # that was still dying when we looked (SIGKILLed just before) makes the new one exit: it
    # could not take the pid file lock. Start again then, twice at most.
    if pid_dead "$LIBVIRTD_PIDFILE" libvirtd ||
      { [[ ! -s $LIBVIRTD_PIDFILE ]] && ((SECONDS - t0 > 10)); }; then
      if ((restarts >= 2)); then
        tail -n 20 /var/log/libvirt/libvirtd.log >&2 || true
        die "libvirtd does not stay up (log: /var/log/libvirt/libvirtd.log)"
      fi
      restarts=$((restarts + 1))
      t0=$SECONDS
      start_libvirtd_if_dead
    fi
    sleep 0.2
  done
  # `virsh version` also makes the daemon load the QEMU capabilities (first time on a machine:
  # 10-30 s of probing, cached in /var/cache/libvirt/qemu afterwards), so the first test that
  # defines a domain does not pay for it.
  local left=$((deadline - SECONDS))
  ((left > 5)) || left=5
  timeout "$left" virsh -c "$CONNECT" version >/dev/null ||
    die "libvirtd answers but 'virsh version' failed (log: /var/log/libvirt/libvirtd.log)"
}

# stop_daemon PIDFILE NAME: SIGTERM, wait up to 10 s, then SIGKILL.
stop_daemon() {
  local pid i
  pid_alive "$1" "$2" || return 0
  pid=$(<"$1")
  log "stopping $2 (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    [[ -d /proc/$pid ]] || return 0
    sleep 0.2
  done
  log "$2 did not stop on SIGTERM: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

cmd_stop() {
  need_root stop
  stop_daemon "$LIBVIRTD_PIDFILE" libvirtd
  stop_daemon "$VIRTLOGD_PIDFILE" virtlogd
}

# ---------------------------------------------------------------- guest

# The guest's /init. Kernel command line words it reads:
#   vft.mode=run|panic|poweroff|reboot|watchdog-hang  (default run)
#   vft.after=N               seconds before panic/poweroff/reboot/watchdog stop (default 5)
#   vft.agent=1               start qemu-guest-agent on org.qemu.guest_agent.0
#   vft.agent_stop_after=N    SIGSTOP the guest agent after N s (hung: connected, no answers)
#   vft.agent_kill_after=N    SIGKILL the guest agent after N s (gone: channel disconnects)
#   vft.wd_timeout=N          watchdog timeout set by the petting daemon (default 10)
write_init() {
  cat <<'INIT'
#!/bin/sh
# virt-ft test guest /init (generated by scripts/testbed.sh)
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
/bin/busybox --install -s
mkdir -p /proc /sys /dev /tmp /run
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || true
ln -s /run /var/run 2>/dev/null || true

say() { echo "VFT: $*" > /dev/console; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }

MODE=run AFTER=5 AGENT=0 AGENT_STOP_AFTER= AGENT_KILL_AFTER= WD_TIMEOUT=10
for w in $(cat /proc/cmdline); do
  case "$w" in
    vft.mode=*) MODE=${w#vft.mode=} ;;
    vft.after=*) AFTER=${w#vft.after=} ;;
    vft.agent=*) AGENT=${w#vft.agent=} ;;
    vft.agent_stop_after=*) AGENT_STOP_AFTER=${w#vft.agent_stop_after=} ;;
    vft.agent_kill_after=*) AGENT_KILL_AFTER=${w#vft.agent_kill_after=} ;;
    vft.wd_timeout=*) WD_TIMEOUT=${w#vft.wd_timeout=} ;;
  esac
done

M=/lib/modules/vft
load() { [ -f "$M/$1.ko" ] && insmod "$M/$1.ko" 2>/dev/null; return 0; }
# pvpanic before pvpanic-mmio, or the latter fails with "unknown symbol".
load pvpanic
load pvpanic-mmio

if [ "$AGENT" = 1 ]; then
  for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_console; do
    load $m
  done
  # devtmpfs gives /dev/vportNpM; the by-name links are udev's job, so make them here.
  mkdir -p /dev/virtio-ports
  i=0
  while [ $i -lt 50 ]; do
    for n in /sys/class/virtio-ports/*/name; do
      [ -f "$n" ] || continue
      p=${n%/name}; p=${p##*/}
      ln -sf "../$p" "/dev/virtio-ports/$(cat "$n")"
    done
    [ -e /dev/virtio-ports/org.qemu.guest_agent.0 ] && break
    i=$((i + 1)); sleep 0.1
  done
  if [ -e /dev/virtio-ports/org.qemu.guest_agent.0 ]; then
    /usr/sbin/qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 \
      -t /run -f /run/qemu-ga.pid > /dev/console 2>&1 &
    AGENT_PID=$!
    say "agent started pid=$AGENT_PID"
    # stop: SIGSTOP, a hung agent (channel stays connected, commands time out);
    # kill: SIGKILL, the agent is gone (libvirt sees the channel disconnect).
    if [ -n "$AGENT_STOP_AFTER" ]; then
      ( sleep "$AGENT_STOP_AFTER"; kill -STOP $AGENT_PID; say "agent hung (SIGSTOP) after ${AGENT_STOP_AFTER}s" ) &
    fi
    if [ -n "$AGENT_KILL_AFTER" ]; then
      ( sleep "$AGENT_KILL_AFTER"; kill -KILL $AGENT_PID; say "agent killed (SIGKILL) after ${AGENT_KILL_AFTER}s" ) &
    fi
  else
    say "agent NOT started: no org.qemu.guest_agent.0 port"
  fi
fi

if [ "$MODE" = watchdog-hang ]; then
  load watchdog
  load i6300esb
fi

say "ready mode=$MODE after=$AFTER agent=$AGENT kernel=$(uname -r) uptime=$(uptime_s)"

case "$MODE" in
  panic)
    sleep "$AFTER"; say "panic now (uptime=$(uptime_s))"
    echo c > /proc/sysrq-trigger ;;
  poweroff)
    sleep "$AFTER"; say "poweroff now (uptime=$(uptime_s))"
    poweroff -f ;;
  reboot)
    sleep "$AFTER"; say "reboot now (uptime=$(uptime_s))"
    reboot -f ;;
  watchdog-hang)
    if [ -c /dev/watchdog ]; then
      watchdog -F -T "$WD_TIMEOUT" -t 1 /dev/watchdog &
      WD_PID=$!
      say "watchdog armed timeout=${WD_TIMEOUT}s"
      sleep "$AFTER"
      # SIGKILL: no magic close, so the device stays armed and fires.
      kill -9 $WD_PID
      say "watchdog petting stopped (uptime=$(uptime_s))"
    else
      say "watchdog-hang: no /dev/watchdog (this kernel has no i6300esb driver?)"
    fi ;;
esac
while :; do sleep 3600; done
INIT
}

# kernel_pkg META: the versioned image package behind a meta package (from the apt lists).
kernel_pkg() {
  apt-cache depends "$1" 2>/dev/null |
    awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}

# fetch_deb PKG: path of the candidate .deb of PKG in $CACHE_DIR (downloaded when missing).
fetch_deb() {
  local pkg=$1 want deb
  want=$(apt-cache policy "$pkg" | awk '/Candidate:/ { print $2 }')
  [[ -n $want && $want != "(none)" ]] || die "no candidate for $pkg in the apt lists"
  mkdir -p "$CACHE_DIR"
  for deb in "$CACHE_DIR/${pkg}"_*.deb; do
    [[ -f $deb ]] || continue
    if [[ $(dpkg-deb -f "$deb" Version) == "$want" ]]; then
      echo "$deb"
      return 0
    fi
    rm -f "$deb"
  done
  log "apt-get download $pkg=$want"
  (cd "$CACHE_DIR" && apt-get -qq -o APT::Sandbox::User=root download "$pkg=$want") >&2
  for deb in "$CACHE_DIR/${pkg}"_*.deb; do
    [[ -f $deb ]] && {
      echo "$deb"
      return 0
    }
  done
  die "download of $pkg failed"
}

# build_initramfs KROOT KVER OUT [MODULE...]: pack busybox, qemu-ga and the listed modules.
build_initramfs() {
  local kroot=$1 kver=$2 out=$3
  shift 3
  local root m f lib
  root=$(mktemp -d "$TESTBED_DIR/.root.XXXXXX")
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,var,etc,lib/modules/vft}
  cp /bin/busybox "$root/bin/busybox"
  ln -s busybox "$root/bin/sh"
  write_init >"$root/init"
  chmod 0755 "$root/init"
  for m in "$@"; do
    f=$(find "$kroot" -path "*/lib/modules/$kver/*" -name "$m.ko" -print -quit)
    [[ -n $f ]] && cp "$f" "$root/lib/modules/vft/"
  done
  # qemu-guest-agent and the shared libraries it links (copied to the paths ldd names).
  if [[ -x /usr/sbin/qemu-ga ]]; then
    cp /usr/sbin/qemu-ga "$root/usr/sbin/qemu-ga"
    while read -r lib; do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done < <(ldd /usr/sbin/qemu-ga | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
  fi
  printf 'root:x:0:0:root:/:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\n' >"$root/etc/group"
  (cd "$root" && find . -print0 | cpio --quiet --null -o -H newc | gzip -9) >"$out.tmp"
  mv "$out.tmp" "$out"
  rm -rf "$root"
}

# build_flavour PKG SUFFIX: vmlinuz$SUFFIX + initramfs$SUFFIX.gz from kernel package PKG;
# prints the kernel version.
build_flavour() {
  local pkg=$1 suffix=$2 deb kroot kver
  deb=$(fetch_deb "$pkg")
  kroot=$(mktemp -d "$TESTBED_DIR/.kernel.XXXXXX")
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$kroot" --wildcards \
    './boot/vmlinuz-*' './boot/config-*' \
    '*/kernel/drivers/misc/pvpanic/*' '*/kernel/drivers/virtio/*' \
    '*/kernel/drivers/char/virtio_console.ko' '*/kernel/drivers/watchdog/*' 2>/dev/null || true
  kver=${pkg#linux-image-}
  [[ -f $kroot/boot/vmlinuz-$kver ]] || die "no vmlinuz in $deb"
  cp "$kroot/boot/vmlinuz-$kver" "$TESTBED_DIR/vmlinuz$suffix.tmp"
  mv "$TESTBED_DIR/vmlinuz$suffix.tmp" "$TESTBED_DIR/vmlinuz$suffix"
  cp "$kroot/boot/config-$kver" "$TESTBED_DIR/config$suffix"
  build_initramfs "$kroot" "$kver" "$TESTBED_DIR/initramfs$suffix.gz" \
    pvpanic pvpanic-mmio virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev \
    virtio_pci virtio_console watchdog i6300esb
  rm -rf "$kroot"
  printf '%s' "$kver"
}

guest_inputs() {
  echo "format=$GUEST_FORMAT"
  echo "cloud=$1 $(apt-cache policy "$1" | awk '/Candidate:/ { print $2 }')"
  echo "generic=$2 $(apt-cache policy "$2" | awk '/Candidate:/ { print $2 }')"
  echo "busybox=$(dpkg-query -W -f='${Version}' busybox-static)"
  echo "qemu-ga=$(dpkg-query -W -f='${Version}' qemu-guest-agent 2>/dev/null || true)"
  declare -f write_init build_initramfs build_flavour
}

cmd_guest() {
  need_root guest
  [[ -x /bin/busybox ]] || die "busybox-static missing: run '$0 install'"
  mkdir -p "$TESTBED_DIR" "$CONSOLE_DIR" "$CACHE_DIR" "$IMAGES_DIR"
  chmod 0755 "$TESTBED_DIR" "$CONSOLE_DIR"
  apt_update_if_stale
  local cloud generic hash
  cloud=$(kernel_pkg linux-image-cloud-amd64)
  generic=$(kernel_pkg linux-image-amd64)
  [[ -n $cloud && -n $generic ]] || die "cannot resolve the kernel packages from the apt lists"
  hash=$(guest_inputs "$cloud" "$generic" | sha256sum | cut -c1-16)
  if [[ -f $TESTBED_DIR/.guest-hash && $(<"$TESTBED_DIR/.guest-hash") == "$hash" &&
    -f $TESTBED_DIR/vmlinuz && -f $TESTBED_DIR/initramfs.gz &&
    -f $TESTBED_DIR/vmlinuz-generic && -f $TESTBED_DIR/initramfs-generic.gz &&
    -f $TESTBED_DIR/testbed.env ]]; then
    log "guest up to date ($TESTBED_DIR, inputs $hash)"
    return 0
  fi
  log "building guest into $TESTBED_DIR"
  local kcloud kgeneric
  kcloud=$(build_flavour "$cloud" "")
  kgeneric=$(build_flavour "$generic" -generic)
  cat >"$TESTBED_DIR/testbed.env.tmp" <<EOF
# written by scripts/testbed.sh guest; read by test/helpers/testbed.ts
VFT_TESTBED_DIR=$TESTBED_DIR
VFT_TESTBED_KERNEL=$TESTBED_DIR/vmlinuz
VFT_TESTBED_INITRD=$TESTBED_DIR/initramfs.gz
VFT_TESTBED_KERNEL_VERSION=$kcloud
VFT_TESTBED_GENERIC_KERNEL=$TESTBED_DIR/vmlinuz-generic
VFT_TESTBED_GENERIC_INITRD=$TESTBED_DIR/initramfs-generic.gz
VFT_TESTBED_GENERIC_KERNEL_VERSION=$kgeneric
VFT_TESTBED_IMAGES_DIR=$IMAGES_DIR
VFT_TESTBED_CONSOLE_DIR=$CONSOLE_DIR
VFT_TESTBED_CONNECT=$CONNECT
VFT_TESTBED_GUEST_HASH=$hash
EOF
  mv "$TESTBED_DIR/testbed.env.tmp" "$TESTBED_DIR/testbed.env"
  echo "$hash" >"$TESTBED_DIR/.guest-hash"
  # Keep only the two kernel packages in use.
  local deb
  for deb in "$CACHE_DIR"/*.deb; do
    [[ -f $deb ]] || continue
    case ${deb##*/} in "${cloud}"_* | "${generic}"_*) ;; *) rm -f "$deb" ;; esac
  done
  log "guest built: kernel $kcloud (+ $kgeneric for the watchdog), initramfs $(du -h "$TESTBED_DIR/initramfs.gz" | cut -f1)"
}

# ---------------------------------------------------------------- up / demo / status / clean

cmd_up() {
  need_root up
  local t0=$SECONDS
  cmd_install
  cmd_start
  cmd_guest
  # shellcheck disable=SC1091
  . "$TESTBED_DIR/testbed.env"
  printf 'testbed up in %ss: %s, %s, guest kernel %s, dir %s, virt type %s\n' \
    $((SECONDS - t0)) "$(libvirtd --version | awk '{ print "libvirt " $NF }')" \
    "$(qemu-system-x86_64 --version | awk 'NR == 1 { print "QEMU " $4 }')" \
    "$VFT_TESTBED_KERNEL_VERSION" "$TESTBED_DIR" "$VIRT_TYPE"
}

DEMO=vft-demo

demo_xml() {
  cat <<XML
<domain type='$VIRT_TYPE'>
  <name>$DEMO</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$TESTBED_DIR/vmlinuz</kernel>
    <initrd>$TESTBED_DIR/initramfs.gz</initrd>
    <cmdline>console=ttyS0 quiet vft.mode=panic vft.after=20</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>restart</on_crash>
  <devices>
    <serial type='file'>
      <source path='$CONSOLE_DIR/$DEMO.log'/>
      <target port='0'/>
    </serial>
    <panic model='isa'/>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
XML
}

cmd_demo() {
  need_root demo
  cmd_up
  cd "$REPO_ROOT"
  if [[ ! -d node_modules ]]; then
    log "npm ci"
    npm ci --no-audit --no-fund
  fi
  log "npm run build"
  npm run --silent build
  if virsh_c dominfo "$DEMO" >/dev/null 2>&1; then
    virsh_c destroy "$DEMO" >/dev/null 2>&1 || true
    virsh_c undefine "$DEMO" --managed-save --snapshots-metadata --checkpoints-metadata \
      >/dev/null 2>&1 || true
  fi
  local xml
  xml=$(mktemp)
  demo_xml >"$xml"
  virsh_c define "$xml" >/dev/null
  rm -f "$xml"
  virsh_c start "$DEMO" >/dev/null
  log "demo guest '$DEMO' started: it panics every ~20 s and libvirt restarts it"
  log "console: $CONSOLE_DIR/$DEMO.log; stop it with: $0 clean"
  exec 9>&- # the test bed lock must not live on in the agent
  exec node dist/agent/main.js events --connect "$CONNECT"
}

cmd_status() {
  local ok=0
  echo "testbed dir:  $TESTBED_DIR (virt type $VIRT_TYPE)"
  if pid_alive "$VIRTLOGD_PIDFILE" virtlogd; then
    echo "virtlogd:     running (pid $(<"$VIRTLOGD_PIDFILE"))"
  else
    echo "virtlogd:     not running"
    ok=1
  fi
  if pid_alive "$LIBVIRTD_PIDFILE" libvirtd; then
    echo "libvirtd:     running (pid $(<"$LIBVIRTD_PIDFILE"))"
  else
    echo "libvirtd:     not running"
    ok=1
  fi
  if libvirt_answers; then
    echo "$CONNECT: answers ($(virsh -c "$CONNECT" version 2>/dev/null | awk '/Running hypervisor/ { print $3, $4 }'))"
    echo "domains:"
    virsh -c "$CONNECT" list --all | sed 's/^/  /'
  else
    echo "$CONNECT: no answer"
    ok=1
  fi
  if [[ -f $TESTBED_DIR/testbed.env ]]; then
    echo "testbed.env:"
    sed -n 's/^VFT/  VFT/p' "$TESTBED_DIR/testbed.env"
  else
    echo "guest:        not built (run: $0 guest)"
    ok=1
  fi
  return "$ok"
}

ours() { [[ $1 == vft-test-* || $1 == "$DEMO"* ]]; }

cmd_clean() {
  need_root clean
  if ! libvirt_answers; then
    log "libvirtd does not answer: nothing to clean in libvirt"
  else
    local dom disk
    while read -r dom; do
      if [[ -z $dom ]] || ! ours "$dom"; then continue; fi
      while read -r disk; do
        [[ -n $disk && -f $disk ]] && rm -f "$disk"
      done < <(virsh_c domblklist "$dom" --details 2>/dev/null | awk '$2 == "disk" { print $4 }')
      virsh_c destroy "$dom" >/dev/null 2>&1 || true
      virsh_c undefine "$dom" --managed-save --snapshots-metadata --checkpoints-metadata \
        >/dev/null 2>&1 || true
      log "removed domain $dom"
    done < <(virsh_c list --all --name 2>/dev/null)
  fi
  rm -f "$IMAGES_DIR"/vft-test-* "$IMAGES_DIR/$DEMO"* "$CONSOLE_DIR"/vft-test-* \
    "$CONSOLE_DIR/$DEMO"*
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

# One test bed change at a time (two `up`s at once: CI and a developer, two terminals).
# Daemons are started with fd 9 closed, or they would hold the lock forever.
LOCK_FILE=/run/lock/virt-ft-testbed.lock
lock() {
  mkdir -p "${LOCK_FILE%/*}"
  exec 9>"$LOCK_FILE"
  flock -w 600 9 || die "another scripts/testbed.sh holds $LOCK_FILE"
}

main() {
  local cmd=${1:-}
  case $cmd in
    install | start | stop | guest | up | demo | clean) need_root "$cmd" && lock ;;
  esac
  case $cmd in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    guest) cmd_guest ;;
    up) cmd_up ;;
    demo) cmd_demo ;;
    status) cmd_status ;;
    clean) cmd_clean ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
