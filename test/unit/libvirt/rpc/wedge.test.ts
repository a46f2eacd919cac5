/** A connection whose every slot is held by calls given up on is wedged, and closes. */
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { after, describe, it } from 'node:test';
import { RpcConnection } from '../../../../agent/libvirt/rpc/connection.ts';
import { defineProcedure } from '../../../../agent/libvirt/rpc/procedure.ts';

const slow = defineProcedure({ name: 'DOMAIN_SLOW', proc: 9999 });

/** A peer that reads our calls and never answers. */
const silentPeer = (): Duplex =>
  new Duplex({
    read() {
      // never produces data
    },
    write(_chunk, _enc, cb) {
      cb();
    },
  });

describe('wedged connection', () => {
  // A fake stream holds no handle; a real socket would keep the event loop alive.
  const hold = setInterval(() => undefined, 1000);
  after(() => {
    clearInterval(hold);
  });

  it('closes once every slot is held by an abandoned call for longer than a call deadline', async () => {
    const socket = silentPeer();
    const rpc = new RpcConnection(socket, {
      maxInFlight: 2,
      callTimeoutMs: 100,
      keepaliveIntervalMs: 0,
    });
    const calls = [rpc.call(slow, undefined), rpc.call(slow, undefined)].map((p) =>
      p.catch((e: unknown) => e),
    );
    const errs = await Promise.all(calls);
    for (const e of errs) assert.equal((e as { code?: string }).code, 'VFT_ERR_LIBVIRT_TIMEOUT');
    assert.equal(rpc.inFlight, 2, 'slots stay held after the deadlines');
    const t0 = performance.now();
    const info = await rpc.closed;
    assert.equal(info.reason, 'error');
    assert.match(info.message, /all 2 call slots held .*DOMAIN_SLOW.*wedged/);
    assert.ok(performance.now() - t0 < 1000);
  });

  it('does not close while one slot still does live work', async () => {
    const socket = silentPeer();
    const rpc = new RpcConnection(socket, {
      maxInFlight: 2,
      callTimeoutMs: 100,
      keepaliveIntervalMs: 0,
    });
    const a = rpc.call(slow, undefined).catch((e: unknown) => e);
    const b = rpc.call(slow, undefined, { timeoutMs: 1000 }).catch((e: unknown) => e);
    await a;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rpc.isClosed, false);
    rpc.destroy('client', null);
    await b;
  });
});
