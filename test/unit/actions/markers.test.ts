/**
 * In-flight markers and recovery against a fake libvirt, with the state directory in a tmpdir:
 * the marker is on disk before the first libvirt call and gone after the result is recorded;
 * a result that cannot be recorded keeps it; recover() resolves each kind of leftover, records
 * the outcome under its key, and leaves what it cannot read or reach.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ActionExecutor, validateRequest } from '../../../agent/actions/index.ts';
import type { ActionRequest } from '../../../agent/actions/index.ts';
import { ActionStore } from '../../../agent/actions/store.ts';
import { DomainState } from '../../../agent/libvirt/index.ts';
import { memoryLogger } from '../../integration/actions/bed.ts';
import { FakeClient } from './fake-client.ts';

const UUID = '11111111-2222-3333-4444-555555555555';
const GONE = '99999999-2222-3333-4444-555555555555';

describe('in-flight markers and recovery', () => {
  let dir: string;
  let fake: FakeClient;
  const log = memoryLogger();
  const inflight = () => join(dir, 'actions', 'inflight');
  const keys = () => join(dir, 'actions', 'keys');

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vft-markers-'));
    fake = new FakeClient();
    fake.add(UUID, 'db-1');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const executor = () =>
    new ActionExecutor({
      client: () => fake.client,
      stateDir: dir,
      log,
      actionTimeoutMs: 2_000,
      pollIntervalMs: 5,
    });
  const req = (
    kind: ActionRequest['kind'],
    key: string,
    params: ActionRequest['params'] = {},
    uuid = UUID,
  ): ActionRequest => ({
    kind,
    domain: { uuid, name: 'db-1' },
    params,
    idempotencyKey: key,
    origin: 'policy',
    reason: 'test',
  });

  async function leaveMarker(r: ActionRequest, name: string | null = null): Promise<void> {
    const v = validateRequest(r);
    assert.ok(v.ok);
    const q = v.request;
    await new ActionStore(dir, 86_400_000, Date.now).writeMarker({
      v: 1,
      key: q.key,
      fingerprint: q.fingerprint,
      kind: q.kind,
      domain: { uuid: q.uuid, name: q.domainName },
      params: q.params,
      origin: q.origin,
      reason: q.reason,
      startedAt: Date.now(),
      pid: 1,
      name,
    });
  }

  it('is written (0600) before the first libvirt call and removed after the result is recorded', async () => {
    const seen: string[][] = [];
    fake.onCall = async () => {
      seen.push(await readdir(inflight()));
    };
    const r = await executor().run(req('snapshot.create', '../../escape', { name: 'vft-m1' }));
    assert.ok(r.ok);
    assert.equal(seen[0]?.length, 1, 'a marker exists at the first call');
    assert.ok(
      seen.every((s) => s.length === 1),
      'and during every call',
    );
    const file = seen[0]?.[0] ?? '';
    assert.match(file, /^[0-9a-f]{64}\.json$/, 'named by hash: no key can name a path');
    assert.deepEqual(await readdir(inflight()), []);
    const [rec] = await readdir(keys());
    assert.equal(rec, file);
    assert.equal((await stat(join(keys(), rec ?? ''))).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(join(dir, 'actions')), ['inflight', 'keys'], 'nothing outside');
  });

  it('read-only actions leave no marker', async () => {
    fake.onCall = async () => {
      assert.deepEqual(await readdir(inflight()), []);
    };
    assert.ok((await executor().run(req('snapshot.list', 'k-list'))).ok);
  });

  it('a result that cannot be recorded keeps the marker for recover()', async () => {
    fake.onCall = async (m) => {
      if (m === 'domainSuspend') {
        await rm(keys(), { recursive: true });
        await writeFile(keys(), 'not a directory');
      }
    };
    const r = await executor().run(req('domain.suspend', 'k-norecord'));
    assert.ok(r.ok, 'the caller still gets the result');
    assert.equal((await readdir(inflight())).length, 1);
    assert.ok(log.lines.some((l) => l.msg.includes('its in-flight marker is kept')));
    await rm(keys());
    await mkdir(keys());
    fake.onCall = null;
    const found = await executor().recover();
    assert.deepEqual(
      found.map((e) => [e.idempotencyKey, e.outcome]),
      [['k-norecord', 'succeeded']],
    );
  });

  it('recover() resolves each kind against libvirt and records it under its key', async () => {
    const d = fake.domains.get(UUID);
    assert.ok(d);
    d.checkpoints.push({ name: 'vft-c1', creationTime: Math.floor(Date.now() / 1000) });
    d.snapshots.push({
      name: 'vft-old',
      creationTime: 1_000,
      xml: '<domainsnapshot><name>vft-old</name></domainsnapshot>',
    });
    const cases: [ActionRequest, string | null, string][] = [
      [req('domain.start', 'r-start'), null, 'succeeded'],
      [req('domain.suspend', 'r-suspend'), null, 'failed'],
      [req('domain.destroy', 'r-destroy'), null, 'failed'],
      [req('domain.restart', 'r-restart'), null, 'unknown'],
      [req('checkpoint.create', 'r-ck'), 'vft-c1', 'succeeded'],
      [req('checkpoint.create', 'r-ck2'), 'vft-c2', 'failed'],
      [req('snapshot.create', 'r-old'), 'vft-old', 'failed'],
      [req('snapshot.delete', 'r-del', { name: 'vft-gone' }), null, 'succeeded'],
      [req('snapshot.delete', 'r-prune', { retain: 2 }), null, 'unknown'],
      [req('snapshot.revert', 'r-revert', { name: 'vft-old' }), null, 'unknown'],
      [req('domain.start', 'r-gone', {}, GONE), null, 'unknown'],
    ];
    for (const [r, name] of cases) await leaveMarker(r, name);
    await writeFile(join(inflight(), 'junk.json'), '{"v":1');
    const ex = executor();
    const found = new Map((await ex.recover()).map((e) => [e.idempotencyKey, e]));
    for (const [r, , outcome] of cases) {
      assert.equal(
        found.get(r.idempotencyKey)?.outcome,
        outcome,
        `${r.idempotencyKey}: ${found.get(r.idempotencyKey)?.detail}`,
      );
    }
    assert.match(found.get('r-old')?.detail ?? '', /predates the attempt/);
    assert.deepEqual(
      await readdir(inflight()),
      ['junk.json'],
      'the unreadable one is left in place',
    );
    assert.ok(log.lines.some((l) => l.msg === 'unreadable in-flight marker left in place'));
    // Each key now answers its recorded outcome, and nothing runs again.
    const calls = fake.calls.length;
    const codes = await Promise.all(
      cases.map(async ([r]) => {
        const x = await ex.run(r);
        assert.equal(x.duplicate, true);
        assert.equal(x.recovered, true);
        return x.ok ? 'ok' : x.error.code;
      }),
    );
    assert.deepEqual(codes, [
      'ok',
      'VFT_ERR_ACTION_INTERRUPTED',
      'VFT_ERR_ACTION_INTERRUPTED',
      'VFT_ERR_ACTION_UNKNOWN',
      'ok',
      'VFT_ERR_ACTION_INTERRUPTED',
      'VFT_ERR_ACTION_INTERRUPTED',
      'ok',
      'VFT_ERR_ACTION_UNKNOWN',
      'VFT_ERR_ACTION_UNKNOWN',
      'VFT_ERR_ACTION_UNKNOWN',
    ]);
    assert.equal(fake.calls.length, calls, 'no libvirt call for a recorded key');
    assert.equal(d.state, DomainState.RUNNING);
  });

  it('a marker whose result was recorded before the crash is only removed', async () => {
    const r = req('domain.suspend', 'k-both');
    assert.ok((await executor().run(r)).ok);
    await leaveMarker(r);
    const found = await executor().recover();
    assert.deepEqual(
      found.map((e) => e.outcome),
      ['already-recorded'],
    );
    assert.deepEqual(await readdir(inflight()), []);
  });

  it('refuses a symlink planted where a record goes (S10)', async () => {
    const r = req('domain.suspend', 'k-link');
    const v = validateRequest(r);
    assert.ok(v.ok);
    await executor().run(req('snapshot.list', 'k-init'));
    const target = join(dir, 'target');
    await writeFile(target, 'untouched');
    await symlink(
      target,
      join(keys(), `${createHash('sha256').update('k-link').digest('hex')}.json`),
    );
    const link = join(keys(), `${createHash('sha256').update('k-link').digest('hex')}.json`);
    // The startup sweep drops what it cannot read as a record (the link itself, not its target).
    const x = await executor().run(r);
    assert.ok(x.ok);
    assert.equal(await readFile(target, 'utf8'), 'untouched');
    assert.ok((await lstat(link)).isFile(), 'the record is a new regular file');
    // A link planted while the executor runs (after its sweep) makes it refuse to act.
    const ex = executor();
    await ex.run(req('snapshot.list', 'k-init2'));
    const r2 = req('domain.resume', 'k-link2');
    await symlink(
      target,
      join(keys(), `${createHash('sha256').update('k-link2').digest('hex')}.json`),
    );
    const y = await ex.run(r2);
    assert.equal(y.ok ? null : y.error.code, 'VFT_ERR_ACTION_FAILED');
    assert.match(y.ok ? '' : y.error.message, /symbolic link/);
    assert.equal(await readFile(target, 'utf8'), 'untouched');
    assert.equal(fake.count('domainResume'), 0, 'nothing ran');
  });
});
