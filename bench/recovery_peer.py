#!/usr/bin/env python3
"""The peer for bench/recovery.ts: the simplest recovery loop libvirt's own C library allows.

A lifecycle-event callback (libvirt's default event loop in a thread) restarts the watched
domain on STOPPED/FAILED, with no policy. For each recovery it prints one JSON line:
  {"event": <wall ms when the callback ran>, "running": <wall ms when create() returned>}
It prints {"ready": true} once registered, and exits on stdin EOF. Run with /usr/bin/python3
(Debian's python3-libvirt).
"""
import json
import sys
import threading
import time

import libvirt

STOPPED, FAILED = 5, 5  # VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_FAILED


def main() -> None:
    name = sys.argv[1]
    libvirt.virEventRegisterDefaultImpl()
    conn = libvirt.open("qemu:///system")

    def loop() -> None:
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=loop, daemon=True).start()

    def on_lifecycle(c, dom, event, detail, _opaque):
        if dom.name() != name or event != STOPPED or detail != FAILED:
            return
        t_event = time.time() * 1000
        dom.create()
        t_running = time.time() * 1000
        print(json.dumps({"event": t_event, "running": t_running}), flush=True)

    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, on_lifecycle, None)
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
