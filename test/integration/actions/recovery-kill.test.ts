/**
 * R6 at the executor's level: a process running a memory snapshot is killed with SIGKILL while
 * the snapshot job runs; a new executor on the same state directory finds the marker, waits for
 * libvirt's job, records what happened, and a retry of the key never takes a second snapshot.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { RecoveredResult } from '../../../agent/actions/index.ts';
import { testbedSkipReason } from '../../helpers/testbed.ts';
import { Bed, okResult } from './bed.ts';

const CHILD = fileURLToPath(new URL('./snapshot-child.js', import.meta.url));

describe('SIGKILL in the middle of a snapshot', { skip: testbedSkipReason }, () => {
  const bed = new Bed();
  before(() => bed.open());
  after(() => bed.close());

  it('the restart notices and resolves it; no second snapshot for the key', async () => {
    const dom = await bed.guest('kill-snap', { memoryMiB: 256 });
    await bed.client.domainCreate(dom);
    const req = bed.req('snapshot.create', dom, { params: { name: 'vft-killed-1' } });
    const child = spawn(process.execPath, [CHILD, bed.stateDir, JSON.stringify(req)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    // Kill it when the snapshot pauses the VM: libvirt is then in the middle of the job.
    const sub = await bed.client.subscribe({ events: ['lifecycle'], domain: dom });
    let point = 'before the snapshot paused the VM';
    const watch = (async () => {
      for await (const e of sub) {
        if (e.event === 'lifecycle' && e.type === 'Suspended') {
          point = 'during the snapshot job';
          child.kill('SIGKILL');
          return;
        }
      }
    })();
    await Promise.race([watch, exited]);
    await sub.close();
    const inflight = join(bed.stateDir, 'actions', 'inflight');
    child.kill('SIGKILL');
    await exited;
    const ex = bed.executor();
    const found = await ex.recover();
    const names = (await bed.client.listAllSnapshots(dom)).map((s) => s.name);
    assert.ok(names.length <= 1, `at most one snapshot: ${names.join(',')}`);
    const entry = found.find((e) => e.idempotencyKey === req.idempotencyKey);
    if (point === 'during the snapshot job') {
      assert.equal(entry?.outcome, 'succeeded', `killed ${point}: ${entry?.detail}`);
    }
    const exists = names.includes('vft-killed-1');
    if (entry)
      assert.equal(entry.outcome === 'succeeded', exists, `${entry.outcome} ⇔ snapshot exists`);
    // A retry of the key answers the recorded outcome and takes no second snapshot.
    const retry = await ex.run(req);
    if (entry || point !== 'before the marker')
      assert.equal(retry.duplicate, true, `killed ${point}`);
    if (exists && retry.ok && retry.recovered === true) {
      assert.equal(okResult<RecoveredResult>(retry).name, 'vft-killed-1');
    }
    assert.deepEqual(
      (await bed.client.listAllSnapshots(dom))
        .map((s) => s.name)
        .filter((n) => n === 'vft-killed-1').length,
      exists || retry.ok ? 1 : 0,
    );
    assert.deepEqual(await readdir(inflight), []);
    process.stdout.write(`# killed ${point}; recovery: ${entry?.outcome ?? 'no marker'}\n`);
  });
});
