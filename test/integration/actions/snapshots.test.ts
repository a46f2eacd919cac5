/**
 * Snapshot and checkpoint actions against real TCG guests: create with measures, list, revert,
 * delete, retention, checkpoints next to snapshots, and a hostile description through libvirt.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type {
  CheckpointListResult,
  CreateResult,
  DeleteResult,
  RevertResult,
  SnapshotListResult,
} from '../../../agent/actions/index.ts';
import { testbedSkipReason } from '../../helpers/testbed.ts';
import { Bed, okResult } from './bed.ts';

describe('snapshot and checkpoint actions on real guests', { skip: testbedSkipReason }, () => {
  const bed = new Bed();
  before(() => bed.open());
  after(() => bed.close());

  it('snapshot with memory: measures, list, revert to running, delete', async () => {
    const ex = bed.executor();
    const dom = await bed.guest('snap');
    okResult(await ex.run(bed.req('domain.start', dom)));
    const c = okResult<CreateResult>(
      await ex.run(bed.req('snapshot.create', dom, { params: { description: 'before change' } })),
    );
    assert.match(c.name, /^vft-\d{8}T\d{6}Z$/);
    assert.equal(c.measure.kind, 'snapshot');
    assert.ok(c.measure.durationMs > 0, `T_CP ${c.measure.durationMs}`);
    assert.ok(c.measure.pausedMs > 0, `a memory snapshot pauses the VM: ${c.measure.pausedMs} ms`);
    assert.ok(c.measure.pausedMs <= c.measure.durationMs + 1_000);
    assert.ok((c.measure.sizeBytes ?? 0) > 1_000_000, `S = ${c.measure.sizeBytes} (memory state)`);
    const list = okResult<SnapshotListResult>(await ex.run(bed.req('snapshot.list', dom)));
    assert.deepEqual(
      list.snapshots.map((s) => [s.name, s.own, s.state, s.memory, s.description, s.current]),
      [[c.name, true, 'running', true, 'before change', true]],
    );
    await bed.client.domainSuspend(dom);
    const rv = okResult<RevertResult>(
      await ex.run(bed.req('snapshot.revert', dom, { params: { name: c.name } })),
    );
    assert.deepEqual(rv, {
      name: c.name,
      removedCheckpoints: [],
      after: { state: 'Running', reason: 'FromSnapshot' },
    });
    const del = okResult<DeleteResult>(
      await ex.run(bed.req('snapshot.delete', dom, { params: { name: c.name } })),
    );
    assert.deepEqual(del.deleted, [c.name]);
    assert.deepEqual(await bed.client.listAllSnapshots(dom), []);
    const again = await ex.run(bed.req('snapshot.delete', dom, { params: { name: c.name } }));
    assert.equal(again.ok ? null : again.error.code, 'VFT_ERR_ACTION_NOT_FOUND');
  });

  it('without memory: refused for a running VM, a disk-only internal snapshot when shut off', async () => {
    const ex = bed.executor();
    const dom = await bed.guest('nomem');
    okResult(await ex.run(bed.req('domain.start', dom)));
    const r = await ex.run(bed.req('snapshot.create', dom, { params: { memory: false } }));
    assert.equal(r.ok ? null : r.error.code, 'VFT_ERR_ACTION_UNSUPPORTED');
    assert.deepEqual(await bed.client.listAllSnapshots(dom), [], 'nothing was created');
    okResult(await ex.run(bed.req('domain.destroy', dom)));
    const c = okResult<CreateResult>(
      await ex.run(bed.req('snapshot.create', dom, { params: { memory: false } })),
    );
    assert.equal(c.measure.pausedMs, 0);
    const list = okResult<SnapshotListResult>(await ex.run(bed.req('snapshot.list', dom)));
    assert.deepEqual(
      list.snapshots.map((s) => [s.state, s.memory]),
      [['shutoff', false]],
    );
    const rv = okResult<RevertResult>(
      await ex.run(bed.req('snapshot.revert', dom, { params: { name: c.name } })),
    );
    assert.equal(rv.after.state, 'Running');
  });

  it('retention prunes the oldest own snapshots, never a protected or foreign one', async () => {
    const ex = bed.executor();
    const dom = await bed.guest('retain');
    okResult(await ex.run(bed.req('domain.start', dom)));
    await bed.client.snapshotCreateXml(
      dom,
      '<domainsnapshot><name>admin-keep</name></domainsnapshot>',
    );
    const names: string[] = [];
    for (let i = 0; i < 4; i++) {
      const protect = names.slice(0, 1);
      const c = okResult<CreateResult>(
        await ex.run(bed.req('snapshot.create', dom, { params: { retain: 2, protect } })),
      );
      names.push(c.name);
    }
    assert.equal(new Set(names).size, 4, `unique generated names: ${names.join(' ')}`);
    const left = (await bed.client.listAllSnapshots(dom)).map((s) => s.name).sort();
    // The first is protected and counts; the newest is kept; the two between were pruned.
    assert.deepEqual(left, ['admin-keep', names[0], names[3]].sort());
    const pr = okResult<DeleteResult>(
      await ex.run(bed.req('snapshot.delete', dom, { params: { retain: 0 } })),
    );
    assert.deepEqual(pr.deleted, [names[0], names[3]]);
    assert.deepEqual(
      (await bed.client.listAllSnapshots(dom)).map((s) => s.name),
      ['admin-keep'],
    );
  });

  it('checkpoints: create with measures, list, prune, delete; a revert removes them first', async () => {
    const ex = bed.executor();
    const dom = await bed.guest('ckpt');
    okResult(await ex.run(bed.req('domain.start', dom)));
    const snap = okResult<CreateResult>(await ex.run(bed.req('snapshot.create', dom)));
    const c1 = okResult<CreateResult>(
      await ex.run(bed.req('checkpoint.create', dom, { params: { description: 'one' } })),
    );
    assert.equal(c1.measure.kind, 'checkpoint');
    assert.equal(c1.measure.sizeBytes, null, 'the first of a chain has no interval');
    const c2 = okResult<CreateResult>(
      await ex.run(bed.req('checkpoint.create', dom, { params: { retain: 3 } })),
    );
    assert.equal(typeof c2.measure.sizeBytes, 'number', 'bytes written since c1');
    const c3 = okResult<CreateResult>(
      await ex.run(bed.req('checkpoint.create', dom, { params: { retain: 2 } })),
    );
    assert.deepEqual(c3.pruned, [c1.name]);
    const list = okResult<CheckpointListResult>(await ex.run(bed.req('checkpoint.list', dom)));
    assert.deepEqual(
      list.checkpoints.map((c) => [c.name, c.own, c.parent === null || c.parent === c2.name]),
      [
        [c2.name, true, true],
        [c3.name, true, true],
      ],
    );
    assert.ok(list.checkpoints.every((c) => typeof c.sizeBytes === 'number'));
    okResult(await ex.run(bed.req('checkpoint.delete', dom, { params: { name: c3.name } })));
    // QEMU cannot load a snapshot while dirty bitmaps exist: the revert deletes ours first.
    const rv = okResult<RevertResult>(
      await ex.run(bed.req('snapshot.revert', dom, { params: { name: snap.name } })),
    );
    assert.deepEqual(rv.removedCheckpoints, [c2.name]);
    assert.equal(rv.after.state, 'Running');
    assert.deepEqual(await bed.client.listAllCheckpoints(dom), []);
  });

  it("a revert refuses to touch checkpoints that are not virt-ft's", async () => {
    const ex = bed.executor();
    const dom = await bed.guest('foreign');
    okResult(await ex.run(bed.req('domain.start', dom)));
    const snap = okResult<CreateResult>(await ex.run(bed.req('snapshot.create', dom)));
    await bed.client.checkpointCreateXml(
      dom,
      '<domaincheckpoint><name>backup-tool</name></domaincheckpoint>',
    );
    const r = await ex.run(bed.req('snapshot.revert', dom, { params: { name: snap.name } }));
    assert.equal(r.ok ? null : r.error.code, 'VFT_ERR_ACTION_UNSUPPORTED');
    assert.match(r.ok ? '' : r.error.message, /backup-tool/);
    assert.equal(
      await bed.state(dom),
      'Running/Unpaused',
      'nothing was done (resumed after the snapshot)',
    );
    assert.deepEqual(
      (await bed.client.listAllCheckpoints(dom)).map((c) => c.name),
      ['backup-tool'],
    );
  });

  it('S8: a hostile description round-trips byte-exact through libvirt', async () => {
    const ex = bed.executor();
    const dom = await bed.guest('s8');
    okResult(await ex.run(bed.req('domain.start', dom)));
    const description = `<b>&amp; ]]> "q" 'a' \u202Eevil\u202C\ttab\nline2 😀 ${'x'.repeat(900)}`;
    const c = okResult<CreateResult>(
      await ex.run(
        bed.req('snapshot.create', dom, { params: { description, name: 'vft-s8_hostile.1' } }),
      ),
    );
    const list = okResult<SnapshotListResult>(await ex.run(bed.req('snapshot.list', dom)));
    assert.equal(list.snapshots.find((s) => s.name === c.name)?.description, description);
    const ck = okResult<CreateResult>(
      await ex.run(bed.req('checkpoint.create', dom, { params: { description } })),
    );
    const cl = okResult<CheckpointListResult>(await ex.run(bed.req('checkpoint.list', dom)));
    assert.equal(cl.checkpoints.find((x) => x.name === ck.name)?.description, description);
  });
});
