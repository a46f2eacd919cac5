/**
 * Lifecycle actions against real TCG guests on the test bed: each operation and its effect,
 * restarts of a panicked and of a SIGKILLed guest, managed save, and a deadline that expires
 * in the middle of an action.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LifecycleResult } from '../../../agent/actions/index.ts';
import { qemuPid } from '../../helpers/daemon.ts';
import { testbedSkipReason, waitFor } from '../../helpers/testbed.ts';
import { Bed, okResult } from './bed.ts';

const BOOT_MS = 60_000;

describe('lifecycle actions on real guests', { skip: testbedSkipReason }, () => {
  const bed = new Bed();
  before(() => bed.open());
  after(() => bed.close());

  it('start, suspend, resume, shutdown (escalates to destroy), start again, destroy', async () => {
    const ex = bed.executor();
    const dom = await bed.guest('life');
    let r = okResult<LifecycleResult>(await ex.run(bed.req('domain.start', dom)));
    assert.deepEqual(r.steps, ['start']);
    assert.equal(r.after.state, 'Running');
    r = okResult(await ex.run(bed.req('domain.start', dom)));
    assert.deepEqual(r.steps, [], 'a second start changes nothing');
    r = okResult(await ex.run(bed.req('domain.suspend', dom)));
    assert.deepEqual([r.steps, r.after.state], [['suspend'], 'Paused']);
    r = okResult(await ex.run(bed.req('domain.resume', dom)));
    assert.deepEqual([r.steps, r.after.state], [['resume'], 'Running']);
    // The test guest ignores ACPI power-button presses: the graceful wait runs out.
    r = okResult(
      await ex.run(bed.req('domain.shutdown', dom, { params: { gracefulTimeoutMs: 1_500 } })),
    );
    assert.deepEqual(
      [r.steps, r.escalated, r.after.state],
      [['shutdown', 'destroy'], true, 'Shutoff'],
    );
    okResult(await ex.run(bed.req('domain.start', dom)));
    r = okResult(await ex.run(bed.req('domain.destroy', dom)));
    assert.deepEqual([r.steps, r.after.state], [['destroy'], 'Shutoff']);
    r = okResult(await ex.run(bed.req('domain.destroy', dom)));
    assert.deepEqual(r.steps, []);
    const bad = await ex.run(bed.req('domain.resume', dom));
    assert.equal(bad.ok ? null : bad.error.code, 'VFT_ERR_ACTION_STATE');
  });

  it('shutdown: a guest that powers off within the graceful wait is not destroyed', async () => {
    const ex = bed.executor();
    const dom = await bed.guest('poweroff', { mode: 'poweroff', after: 2 });
    okResult(await ex.run(bed.req('domain.start', dom)));
    const r = okResult<LifecycleResult>(
      await ex.run(bed.req('domain.shutdown', dom, { params: { gracefulTimeoutMs: BOOT_MS } })),
    );
    assert.deepEqual([r.steps, r.escalated, r.after.state], [['shutdown'], false, 'Shutoff']);
    assert.equal(await bed.state(dom), 'Shutoff/Shutdown');
  });

  it('restart: running (graceful → destroy → start), panicked (destroy → start), SIGKILLed (start)', async () => {
    const ex = bed.executor();
    const dom = await bed.guest('restart');
    okResult(await ex.run(bed.req('domain.start', dom)));
    const req = bed.req('domain.restart', dom, { params: { gracefulTimeoutMs: 500 } });
    let r = okResult<LifecycleResult>(await ex.run(req));
    assert.deepEqual(
      [r.steps, r.escalated, r.after.state],
      [['shutdown', 'destroy', 'start'], true, 'Running'],
    );

    const panicky = await bed.guest('panic', { mode: 'panic', after: 1, onCrash: 'preserve' });
    okResult(await ex.run(bed.req('domain.start', panicky)));
    await waitFor(async () => (await bed.state(panicky)) === 'Crashed/Panicked', {
      timeoutMs: BOOT_MS,
      what: 'the guest panic',
    });
    r = okResult(await ex.run(bed.req('domain.restart', panicky)));
    assert.deepEqual(
      [r.before, r.steps, r.after.state],
      [{ state: 'Crashed', reason: 'Panicked' }, ['destroy', 'start'], 'Running'],
    );

    process.kill(await qemuPid(dom.name), 'SIGKILL');
    await waitFor(async () => (await bed.state(dom)) === 'Shutoff/Crashed', {
      timeoutMs: 15_000,
      what: 'QEMU to die',
    });
    r = okResult(await ex.run(bed.req('domain.restart', dom)));
    assert.deepEqual([r.steps, r.after.state], [['start'], 'Running']);
  });

  it('managed save, then start restores it', async () => {
    const ex = bed.executor();
    const dom = await bed.guest('msave');
    okResult(await ex.run(bed.req('domain.start', dom)));
    let r = okResult<LifecycleResult>(await ex.run(bed.req('domain.managed-save', dom)));
    assert.deepEqual([r.steps, r.after], [['managed-save'], { state: 'Shutoff', reason: 'Saved' }]);
    assert.equal(await bed.client.domainHasManagedSaveImage(dom), true);
    r = okResult(await ex.run(bed.req('domain.managed-save', dom)));
    assert.deepEqual(r.steps, [], 'saved already');
    r = okResult(await ex.run(bed.req('domain.start', dom)));
    assert.deepEqual(r.after, { state: 'Running', reason: 'Restored' });
  });

  it('a deadline that expires mid-action gives a clear timeout result', async () => {
    const ex = bed.executor();
    const dom = await bed.guest('deadline');
    okResult(await ex.run(bed.req('domain.start', dom)));
    const t0 = Date.now();
    const r = await ex.run(
      bed.req('domain.restart', dom, { deadlineMs: 1_500, params: { gracefulTimeoutMs: 30_000 } }),
    );
    const took = Date.now() - t0;
    assert.equal(r.ok, false);
    assert.equal(r.ok ? null : r.error.code, 'VFT_ERR_ACTION_TIMEOUT');
    assert.match(
      r.ok ? '' : r.error.message,
      /deadline of 1500 ms \(while waiting up to 30000 ms for the guest to shut down\)/,
    );
    assert.ok(took >= 1_400 && took < 3_000, `answered after ${took} ms`);
    assert.equal(ex.activeAction(dom.uuid), 'domain.restart', 'still named for its late events');
  });
});
