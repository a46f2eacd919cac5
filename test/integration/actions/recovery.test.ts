/**
 * Recovery after a crash in the middle of an action, on real guests: the in-flight marker is
 * written as the executor writes it, the action's effect is (or is not) produced out of band,
 * and a new executor on the same state directory resolves the marker; a retry of the same key
 * then returns the recorded outcome and never acts a second time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { validateRequest } from '../../../agent/actions/index.ts';
import type { ActionRequest, RecoveredResult } from '../../../agent/actions/index.ts';
import { timestampName } from '../../../agent/actions/names.ts';
import { ActionStore } from '../../../agent/actions/store.ts';
import type { Domain } from '../../../agent/libvirt/index.ts';
import { testbedSkipReason } from '../../helpers/testbed.ts';
import { Bed, okResult } from './bed.ts';

describe('recovery of interrupted actions on real guests', { skip: testbedSkipReason }, () => {
  const bed = new Bed();
  before(() => bed.open());
  after(() => bed.close());

  /** Writes the marker the executor writes before its first libvirt call, as if it then died. */
  async function leaveMarker(req: ActionRequest, name: string | null): Promise<void> {
    const v = validateRequest(req);
    assert.ok(v.ok);
    const r = v.request;
    await new ActionStore(bed.stateDir, 86_400_000, Date.now).writeMarker({
      v: 1,
      key: r.key,
      fingerprint: r.fingerprint,
      kind: r.kind,
      domain: { uuid: r.uuid, name: r.domainName },
      params: r.params,
      origin: r.origin,
      reason: r.reason,
      startedAt: Date.now(),
      pid: 999_999,
      name,
    });
  }

  async function running(suffix: string): Promise<Domain> {
    const dom = await bed.guest(suffix);
    await bed.client.domainCreate(dom);
    return dom;
  }

  it('a snapshot the crashed agent had asked for is found, recorded once, never taken twice', async () => {
    const dom = await running('rec-snap');
    const name = timestampName(Date.now());
    const done = bed.req('snapshot.create', dom, { params: { retain: 3 } });
    const lost = bed.req('snapshot.create', dom, { params: { name: 'vft-never-made' } });
    const restart = bed.req('domain.restart', dom);
    await leaveMarker(done, name);
    await leaveMarker(lost, 'vft-never-made');
    await leaveMarker(restart, null);
    // The crashed agent's snapshot call had reached libvirt: the snapshot exists.
    await bed.client.snapshotCreateXml(
      dom,
      `<domainsnapshot><name>${name}</name></domainsnapshot>`,
    );

    const ex = bed.executor();
    // Before recovery, a retry of an interrupted key is not run.
    const early = await ex.run(lost);
    assert.equal(early.ok ? null : early.error.code, 'VFT_ERR_ACTION_UNKNOWN');
    const found = await ex.recover();
    const byKey = new Map(found.map((e) => [e.idempotencyKey, e]));
    assert.equal(byKey.get(done.idempotencyKey)?.outcome, 'succeeded');
    assert.equal(byKey.get(lost.idempotencyKey)?.outcome, 'failed');
    assert.equal(byKey.get(restart.idempotencyKey)?.outcome, 'unknown');
    assert.deepEqual(byKey.get(restart.idempotencyKey)?.state, {
      state: 'Running',
      reason: 'Unpaused',
    });

    const retry = await ex.run(done);
    assert.equal(retry.ok, true);
    assert.equal(retry.duplicate, true);
    assert.equal(retry.recovered, true);
    assert.deepEqual(okResult<RecoveredResult>(retry), {
      recovered: true,
      state: { state: 'Running', reason: 'Unpaused' },
      name,
    });
    const names = (await bed.client.listAllSnapshots(dom)).map((s) => s.name);
    assert.deepEqual(names, [name], 'no second snapshot for the same key');

    const lostRetry = await ex.run(lost);
    assert.equal(lostRetry.ok ? null : lostRetry.error.code, 'VFT_ERR_ACTION_INTERRUPTED');
    assert.equal(lostRetry.duplicate, true);
    assert.deepEqual(await ex.recover(), [], 'every marker was resolved');
    // An audit line for each recovered action.
    const recovered = bed.log.lines.filter((l) => l.obj['phase'] === 'recovered');
    assert.equal(recovered.length, 3);
  });

  it('markers stay pending while libvirt is unreachable', async () => {
    const dom = await running('rec-pending');
    const req = bed.req('domain.suspend', dom);
    await leaveMarker(req, null);
    const offline = bed.executor({ client: () => null });
    const found = await offline.recover();
    assert.deepEqual(
      found.map((e) => [e.idempotencyKey, e.outcome]),
      [[req.idempotencyKey, 'pending']],
    );
    const ex = bed.executor();
    const again = await ex.recover();
    assert.deepEqual(
      again.map((e) => e.outcome),
      ['failed'],
      'not suspended: the call never happened',
    );
  });
});
