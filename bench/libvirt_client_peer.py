#!/usr/bin/python3
"""The C-library side of bench/libvirt-client.ts: libvirt's own client (libvirt.so, through
Debian's python3-libvirt) timed on the same calls, against the same daemon, as ours.

Run it with /usr/bin/python3 (python3-libvirt is installed for Debian's Python only). The
TypeScript bench runs it once per round with execFile and reads one JSON object from stdout.

  /usr/bin/python3 bench/libvirt_client_peer.py --uri test+unix:///tmp/x/node.xml \
      --calls 1000 --stats 129 --flags 2147483648 --threads 4

The URI must name a transport (`test+unix:///...`) or a daemon-only driver (`qemu:///...`):
`test:///...` would make libvirt.so run the test driver inside this process, with no daemon.
With --verify-daemon the peer asks the daemon (virt-admin) whether it lists a client whose
unix_process_id is this process, and reports what it found.

What is timed (time.perf_counter_ns, connection setup excluded from the cases):
  connect  libvirt.open()/openReadOnly(): socket, auth, CONNECT_OPEN (reported separately)
  a        `calls` sequential virDomainGetState, call i on domain i mod n (n domains by name)
  b        the same calls on T threads sharing the one virConnect (libvirt is thread-safe and
           python3-libvirt drops the GIL inside each C call); threads are created and parked on
           a barrier before the clock starts, then pull call numbers from one shared iterator
  c        virConnectListAllDomains(0)
  d        virConnectGetAllDomainStats(stats, flags)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import threading
import time
from typing import Any

import libvirt


def ms_since(t0: int) -> float:
    return (time.perf_counter_ns() - t0) / 1e6


def proc_cpu_ms(pid: int) -> float | None:
    """CPU time (user + system) of process `pid` so far, in ms (10 ms ticks), or None."""
    if pid <= 0:
        return None
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class CpuMeter:
    """CPU time of this process (exact) and of libvirtd (ticks) across one timed case."""

    def __init__(self, daemon_pid: int) -> None:
        self.daemon_pid = daemon_pid
        self.d0 = proc_cpu_ms(daemon_pid)
        self.c0 = time.process_time()

    def done(self) -> dict[str, float | None]:
        c1 = time.process_time()
        d1 = proc_cpu_ms(self.daemon_pid)
        return {
            "clientMs": (c1 - self.c0) * 1000,
            "daemonMs": None if self.d0 is None or d1 is None else d1 - self.d0,
        }


def find_daemon_client(pid: int) -> dict[str, Any]:
    """Asks libvirtd's admin interface which client is `pid` (needs root: the admin socket)."""
    try:
        listing = subprocess.run(
            ["virt-admin", "srv-clients-list", "libvirtd"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as e:
        return {"verified": False, "error": f"virt-admin srv-clients-list failed: {e}"}
    ids = [m.group(1) for m in re.finditer(r"^\s*(\d+)\s+\S+", listing, re.M)]
    for cid in reversed(ids):  # ours is most likely the newest
        try:
            info = subprocess.run(
                ["virt-admin", "client-info", "libvirtd", cid],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            continue  # the client left meanwhile
        fields = dict(
            (k.strip(), v.strip())
            for k, _, v in (line.partition(":") for line in info.splitlines())
            if _
        )
        if fields.get("unix_process_id") == str(pid):
            return {
                "verified": True,
                "clientId": int(cid),
                "transport": fields.get("transport"),
                "readonly": fields.get("readonly"),
                "clientsListed": len(ids),
            }
    return {"verified": False, "error": f"no daemon client with pid {pid}", "clientsListed": len(ids)}


def run_round(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}

    t0 = time.perf_counter_ns()
    conn = libvirt.openReadOnly(args.uri) if args.read_only else libvirt.open(args.uri)
    out["connectMs"] = ms_since(t0)
    try:
        if args.verify_daemon:
            out["daemonClient"] = find_daemon_client(os.getpid())

        if args.domain_uuid:
            targets = [conn.lookupByUUIDString(args.domain_uuid)]
        else:
            targets = sorted(conn.listAllDomains(0), key=lambda d: d.name())
        if not targets:
            raise RuntimeError(f"{args.uri} has no domains")
        n = len(targets)
        calls = [targets[i % n] for i in range(args.calls)]

        def concurrent(threads: int, work: list[libvirt.virDomain]) -> float:
            it = iter(work)
            barrier = threading.Barrier(threads + 1)
            errors: list[BaseException] = []

            def worker() -> None:
                barrier.wait()
                try:
                    for d in it:  # one shared iterator: next() is atomic under the GIL
                        d.state(0)
                except BaseException as e:  # noqa: BLE001 - reported to the caller
                    errors.append(e)

            pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
            for t in pool:
                t.start()
            barrier.wait()
            t0 = time.perf_counter_ns()
            for t in pool:
                t.join()
            took = ms_since(t0)
            if errors:
                raise errors[0]
            return took

        # Warm-up: the same kinds of calls, not timed.
        for d in calls[: args.warmup]:
            d.state(0)
        for threads in args.threads:
            concurrent(threads, calls[: args.warmup])
        if "c" in args.cases:
            conn.listAllDomains(0)
        if "d" in args.cases:
            conn.getAllDomainStats(args.stats, args.flags)

        cpu: dict[str, Any] = {}
        out["cpu"] = cpu

        # (a) sequential
        if "a" in args.cases:
            meter = CpuMeter(args.daemon_pid)
            t0 = time.perf_counter_ns()
            for d in calls:
                d.state(0)
            out["aMs"] = ms_since(t0)
            cpu["a"] = meter.done()

        # (b) concurrent, per thread count
        if "b" in args.cases:
            out["bMs"] = {}
            for t in args.threads:
                meter = CpuMeter(args.daemon_pid)
                out["bMs"][str(t)] = concurrent(t, calls)
                cpu[f"b{t}"] = meter.done()

        # (c) list all domains
        if "c" in args.cases:
            t0 = time.perf_counter_ns()
            listed = conn.listAllDomains(0)
            out["cMs"] = ms_since(t0)
            out["cCount"] = len(listed)

        # (d) all domain stats
        if "d" in args.cases:
            t0 = time.perf_counter_ns()
            records = conn.getAllDomainStats(args.stats, args.flags)
            out["dMs"] = ms_since(t0)
            out["dRecords"] = len(records)
            out["dParams"] = sum(len(params) for _dom, params in records)
    finally:
        conn.close()
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--uri", required=True)
    p.add_argument("--read-only", action="store_true")
    p.add_argument("--domain-uuid", default="", help="(a)/(b) on this domain only")
    p.add_argument("--calls", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument(
        "--threads",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[4],
        help="thread counts for (b), comma-separated",
    )
    p.add_argument("--cases", default="a,b,c,d", help="which of a,b,c,d to run")
    p.add_argument("--stats", type=int, default=0, help="(d) stats mask")
    p.add_argument("--flags", type=int, default=0, help="(d) flags")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--verify-daemon", action="store_true")
    p.add_argument("--daemon-pid", type=int, default=0, help="libvirtd's pid, for its CPU time")
    args = p.parse_args()
    args.cases = set(args.cases.split(","))

    driver, _, rest = args.uri.partition(":")
    if driver == "test" and rest.startswith("///"):
        p.error(
            "test:///... runs the test driver inside this process (no daemon); "
            "use test+unix:///... to go through libvirtd"
        )
    # libvirt prints every error to stderr by default; errors are raised as exceptions anyway.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

    rounds = [run_round(args) for _ in range(args.rounds)]
    ru = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "cpuMs": (ru.ru_utime + ru.ru_stime) * 1000,
        "pid": os.getpid(),
        "python": platform.python_version(),
        "pythonExecutable": sys.executable,
        "libvirtLibrary": libvirt.getVersion(),
        "libvirtPythonFile": libvirt.__file__,
        "rounds": rounds,
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
