/**
 * The executor against a fake libvirt: exactly-once per idempotency key (concurrently and
 * across a restart), conflicts, key expiry, validation before any call, the per-VM lock and
 * busy answers, deadlines while queued, close(), and the audit lines.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ActionExecutor } from '../../../agent/actions/index.ts';
import type { ActionExecutorOptions, ActionRequest } from '../../../agent/actions/index.ts';
import { DomainState } from '../../../agent/libvirt/index.ts';
import { memoryLogger } from '../../integration/actions/bed.ts';
import { FakeClient } from './fake-client.ts';

const UUID = '11111111-2222-3333-4444-555555555555';
const UUID2 = '66666666-2222-3333-4444-555555555555';

describe('ActionExecutor', () => {
  let dir: string;
  let fake: FakeClient;
  let log: ReturnType<typeof memoryLogger>;
  const made: ActionExecutor[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vft-exec-'));
    fake = new FakeClient();
    fake.add(UUID, 'web-1');
    fake.add(UUID2, 'web-2');
    log = memoryLogger();
  });
  afterEach(async () => {
    for (const ex of made.splice(0)) await ex.close(100);
    await rm(dir, { recursive: true, force: true });
  });

  function executor(o: Partial<ActionExecutorOptions> = {}): ActionExecutor {
    const ex = new ActionExecutor({
      client: () => fake.client,
      stateDir: dir,
      log,
      actionTimeoutMs: 5_000,
      pollIntervalMs: 5,
      ...o,
    });
    made.push(ex);
    return ex;
  }

  const snap = (key: string, extra: Partial<ActionRequest> = {}): ActionRequest => ({
    kind: 'snapshot.create',
    domain: { uuid: UUID, name: 'web-1' },
    params: { description: 'periodic' },
    idempotencyKey: key,
    origin: 'policy',
    reason: 'periodic snapshot',
    ...extra,
  });

  it('100 concurrent identical requests: exactly 1 libvirt mutation, 99 duplicates', async () => {
    const ex = executor();
    fake.delayMs = 20;
    const results = await Promise.all(Array.from({ length: 100 }, () => ex.run(snap('k-100'))));
    assert.equal(fake.count('snapshotCreateXml'), 1);
    assert.equal(results.filter((r) => r.ok).length, 100);
    assert.equal(results.filter((r) => r.duplicate).length, 99);
    const names = new Set(results.map((r) => (r.ok ? (r.result as { name: string }).name : '')));
    assert.equal(names.size, 1, 'every answer is the first result');
    assert.equal(new Set(results.map((r) => r.startedAt)).size, 1);
  });

  it('a repeat after an agent restart returns the stored result, and no call is made', async () => {
    const first = await executor().run(snap('k-restart'));
    assert.equal(first.ok, true);
    const callsBefore = fake.calls.length;
    const again = await executor().run(snap('k-restart'));
    assert.deepEqual(again, { ...first, duplicate: true });
    assert.equal(fake.calls.length, callsBefore);
  });

  it('the same key with a different payload is a conflict, concurrently and afterwards', async () => {
    const ex = executor();
    fake.delayMs = 30;
    const [a, b] = await Promise.all([
      ex.run(snap('k-c')),
      ex.run(snap('k-c', { params: { description: 'other' } })),
    ]);
    assert.equal(a.ok, true);
    assert.equal(b.ok ? null : b.error.code, 'VFT_ERR_ACTION_CONFLICT');
    const c = await ex.run(snap('k-c', { kind: 'checkpoint.create' }));
    assert.equal(c.ok ? null : c.error.code, 'VFT_ERR_ACTION_CONFLICT');
    const d = await ex.run(snap('k-c', { domain: { uuid: UUID2 } }));
    assert.equal(d.ok ? null : d.error.code, 'VFT_ERR_ACTION_CONFLICT');
    // Origin, reason, deadline and parameters that do not apply are not part of the payload.
    const e = await ex.run(
      snap('k-c', {
        origin: 'admin',
        reason: 'again',
        deadlineMs: 9_000,
        params: { description: 'periodic', gracefulTimeoutMs: 1 },
      }),
    );
    assert.equal(e.duplicate, true);
    assert.equal(fake.count('snapshotCreateXml'), 1);
  });

  it('keys expire after the retention period (default 24 h)', async () => {
    let now = Date.parse('2026-11-29T12:00:00Z');
    const ex = executor({ now: () => now });
    await ex.run(snap('k-exp'));
    now += 23 * 3_600_000;
    assert.equal((await ex.run(snap('k-exp'))).duplicate, true);
    now += 2 * 3_600_000;
    const later = await ex.run(snap('k-exp'));
    assert.equal(later.duplicate, false);
    assert.equal(fake.count('snapshotCreateXml'), 2);
  });

  it('an invalid request is answered before any libvirt call or state write', async () => {
    const ex = executor();
    for (const bad of [
      snap('k-i1', { params: { name: '../../etc/passwd' } }),
      snap('k-i2', { params: { name: '-rf' } }),
      snap('k-i3', { params: { description: 'x'.repeat(5_000) } }),
      snap('k-i4', { params: { description: 'bell\u0007' } }),
      snap('k i5'),
      snap('k-i6', { domain: { uuid: 'not-a-uuid' } }),
      { ...snap('k-i7'), extra: 1 } as ActionRequest,
      null as unknown as ActionRequest,
    ]) {
      const r = await ex.run(bad);
      assert.equal(
        r.ok ? null : r.error.code,
        'VFT_ERR_ACTION_INVALID',
        JSON.stringify(bad)?.slice(0, 80),
      );
    }
    assert.deepEqual(fake.calls, []);
    assert.deepEqual(await readdir(join(dir)), [], 'not even the state directories');
    const lines = log.lines.filter((l) => l.obj['phase'] === 'rejected');
    assert.equal(lines.length, 8);
    assert.ok(!JSON.stringify(lines).includes('xxxxxxxxxx'), 'hostile text is not logged');
  });

  it('one action at a time per VM, in order; other VMs run in parallel', async () => {
    const ex = executor();
    fake.delayMs = 30;
    const order: string[] = [];
    const kinds = [
      'snapshot.create',
      'domain.suspend',
      'domain.resume',
      'checkpoint.list',
    ] as const;
    const runs = kinds.map((kind, i) =>
      ex.run(snap(`k-o${i}`, { kind, params: {} })).then((r) => {
        order.push(kind);
        return r;
      }),
    );
    const other = ex.run(
      snap('k-o-other', { domain: { uuid: UUID2 }, kind: 'domain.suspend', params: {} }),
    );
    const rs = await Promise.all([...runs, other]);
    assert.ok(
      rs.every((r) => r.ok),
      JSON.stringify(rs.filter((r) => !r.ok)),
    );
    assert.deepEqual(order, [...kinds]);
    assert.equal(fake.maxInFlight, 1, 'per domain, never two calls at once');
    assert.equal(fake.domains.get(UUID2)?.state, DomainState.PAUSED);
  });

  it('busy: ifBusy reject, or a full queue (depth 4), answered at once', async () => {
    const ex = executor();
    fake.delayMs = 200;
    const running = ex.run(snap('k-b0'));
    await new Promise((r) => setImmediate(r));
    const t0 = performance.now();
    const rejected = await ex.run(
      snap('k-b1', { ifBusy: 'reject', kind: 'domain.suspend', params: {} }),
    );
    assert.equal(rejected.ok ? null : rejected.error.code, 'VFT_ERR_ACTION_BUSY');
    assert.match(rejected.ok ? '' : rejected.error.message, /busy with snapshot.create/);
    const queued = [1, 2, 3, 4].map((i) =>
      ex.run(snap(`k-q${i}`, { kind: 'snapshot.list', params: {} })),
    );
    const full = await ex.run(snap('k-q5', { kind: 'snapshot.list', params: {} }));
    assert.equal(full.ok ? null : full.error.code, 'VFT_ERR_ACTION_BUSY');
    assert.ok(performance.now() - t0 < 100, 'busy answers come within 100 ms');
    assert.ok((await running).ok);
    assert.ok((await Promise.all(queued)).every((r) => r.ok));
    // A busy answer is not recorded: the same key runs once the VM is free.
    assert.equal(
      (await ex.run(snap('k-b1', { ifBusy: 'reject', kind: 'domain.suspend', params: {} }))).ok,
      true,
    );
  });

  it('a deadline that passes in the queue: timeout, nothing ran, the key stays usable', async () => {
    const ex = executor();
    fake.delayMs = 300;
    const first = ex.run(snap('k-d0'));
    const late = await ex.run(snap('k-d1', { kind: 'domain.suspend', params: {}, deadlineMs: 50 }));
    assert.equal(late.ok ? null : late.error.code, 'VFT_ERR_ACTION_TIMEOUT');
    assert.match(late.ok ? '' : late.error.message, /never started/);
    await first;
    assert.equal(fake.count('domainSuspend'), 0);
    assert.equal((await ex.run(snap('k-d1', { kind: 'domain.suspend', params: {} }))).ok, true);
  });

  it('a deadline that passes during a call: timeout naming the step', async () => {
    const ex = executor();
    fake.delayMs = 500;
    const r = await ex.run(snap('k-t', { deadlineMs: 100 }));
    assert.equal(r.ok ? null : r.error.code, 'VFT_ERR_ACTION_TIMEOUT');
    assert.match(
      r.ok ? '' : r.error.message,
      /deadline of 100 ms \(while creating snapshot vft-\d{8}T\d{6}Z\)/,
    );
    assert.equal(ex.activeAction(UUID), 'snapshot.create', 'named for its late events');
  });

  it('answers unavailable without a libvirt connection, and after close()', async () => {
    const off = executor({ client: () => null });
    const r = await off.run(snap('k-u'));
    assert.equal(r.ok ? null : r.error.code, 'VFT_ERR_ACTION_UNAVAILABLE');
    const ex = executor();
    fake.delayMs = 50;
    const running = ex.run(snap('k-u1'));
    const queued = ex.run(snap('k-u2', { kind: 'domain.suspend', params: {} }));
    await new Promise((r2) => setImmediate(r2));
    const closing = ex.close(2_000);
    assert.equal((await queued).ok ? null : 'x', 'x');
    assert.equal(
      ((await queued) as { error: { code: string } }).error.code,
      'VFT_ERR_ACTION_UNAVAILABLE',
    );
    assert.equal((await running).ok, true, 'the running action completes');
    assert.deepEqual(await closing, { drained: true });
    const after = await ex.run(snap('k-u3'));
    assert.equal(after.ok ? null : after.error.code, 'VFT_ERR_ACTION_UNAVAILABLE');
  });

  it('close() past its deadline aborts the running action', async () => {
    const ex = executor();
    fake.delayMs = 5_000;
    const running = ex.run(snap('k-abort'));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await ex.close(50), { drained: false });
    const r = await running;
    assert.equal(r.ok ? null : r.error.code, 'VFT_ERR_ACTION_UNAVAILABLE');
  });

  it('audits start and end with the canonical fields, never the description', async () => {
    const ex = executor();
    const key = `k-audit-${randomUUID()}`;
    await ex.run(snap(key, { params: { description: 'SECRET-ish text' } }));
    const mine = log.lines.filter((l) => l.obj['idempotencyKey'] === key);
    assert.deepEqual(
      mine.map((l) => l.obj['phase']),
      ['start', 'end'],
    );
    const end = mine[1]?.obj ?? {};
    for (const f of [
      'kind',
      'domainUuid',
      'domainName',
      'origin',
      'reason',
      'outcome',
      'durationMs',
      'duplicate',
    ]) {
      assert.ok(f in end, `end line has ${f}`);
    }
    assert.equal(end['component'], 'actions');
    assert.ok(!JSON.stringify(log.lines).includes('SECRET-ish'));
  });
});
