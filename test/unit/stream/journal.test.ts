import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Journal } from '../../../agent/stream/journal.ts';
import type { EventBody } from '../../../shared/protocol/index.ts';
import { UUID_A } from './fake-agent.ts';
import { LogCapture, tempDir } from './setup.ts';

const body = (i: number): EventBody => ({
  kind: 'domain',
  uuid: UUID_A,
  name: `web-${i}`,
  from: null,
  to: { state: 'Running', reason: 'Booted' },
  late: false,
  source: 'event',
});

function open(dir: string, o: { maxEvents?: number; maxBytes?: number } = {}): Promise<Journal> {
  return Journal.open({
    dir,
    maxEvents: o.maxEvents ?? 1000,
    maxBytes: o.maxBytes ?? 1 << 20,
    log: new LogCapture().logger,
  });
}

async function appendN(j: Journal, n: number): Promise<void> {
  for (let i = 0; i < n; i++) j.append(body(i), new Date(0));
  await j.flush();
}

describe('stream journal', () => {
  it('numbers events densely from 1 and hands them on only once written', async (t) => {
    const dir = await tempDir(t);
    const j = await open(dir);
    const seen: number[] = [];
    const onDisk: boolean[] = [];
    j.onCommit = (batch) => {
      seen.push(...batch.map((e) => e.msg.seq));
      // Synchronous read on purpose: the event must already be in the file.
      const text = readFileSync(join(dir, 'journal.jsonl'), 'utf8');
      onDisk.push(text.includes(`"seq":${batch.at(-1)?.msg.seq},`));
    };
    await appendN(j, 5);
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    assert.equal(j.seq, 5);
    assert.deepEqual(
      j.since(2)?.map((e) => e.msg.seq),
      [3, 4, 5],
    );
    assert.deepEqual(j.since(5), []);
    await j.close();
    assert.ok(onDisk.every(Boolean) && onDisk.length > 0);
  });

  it('keeps its epoch and seq across a reopen', async (t) => {
    const dir = await tempDir(t);
    const a = await open(dir);
    await appendN(a, 3);
    await a.close();
    const b = await open(dir);
    assert.equal(b.epoch, a.epoch);
    assert.equal(b.seq, 3);
    await appendN(b, 1);
    assert.deepEqual(
      b.since(0)?.map((e) => e.msg.seq),
      [1, 2, 3, 4],
    );
    await b.close();
  });

  it('drops a torn last line and a bad line with all that follows, and repairs the file', async (t) => {
    const dir = await tempDir(t);
    const a = await open(dir);
    await appendN(a, 4);
    await a.close();
    const file = join(dir, 'journal.jsonl');
    await appendFile(
      file,
      '{"v":1,"type":"event","seq":5,"at":"1970-01-01T00:00:00.000Z","kind":"dom',
    );
    const b = await open(dir);
    assert.equal(b.seq, 4);
    await appendN(b, 1);
    await b.close();
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 6, 'header + 5 events');
    lines.splice(3, 1, '{"garbage":true}');
    await writeFile(file, `${lines.join('\n')}\n`);
    const c = await open(dir);
    assert.equal(c.seq, 2, 'everything after the bad line is gone');
    assert.equal(c.epoch, a.epoch);
    await c.close();
  });

  it('starts a new epoch when the file is not a journal', async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, 'journal.jsonl'), 'not a journal\n');
    const j = await open(dir);
    assert.equal(j.seq, 0);
    assert.match(j.epoch, /^[0-9a-f-]{36}$/);
    await j.close();
  });

  it('compacts to the newest half past maxEvents, keeps seqs, and says when a resume is too old', async (t) => {
    const dir = await tempDir(t);
    const j = await open(dir, { maxEvents: 20 });
    await appendN(j, 21);
    assert.equal(j.size, 10);
    assert.equal(j.base, 11);
    assert.equal(j.since(10), null);
    assert.deepEqual(
      j.since(11)?.map((e) => e.msg.seq),
      [12, 13, 14, 15, 16, 17, 18, 19, 20, 21],
    );
    await j.close();
    const again = await open(dir, { maxEvents: 20 });
    assert.equal(again.base, 11);
    assert.equal(again.seq, 21);
    await again.close();
  });

  it('stays bounded in bytes', async (t) => {
    const dir = await tempDir(t);
    const j = await open(dir, { maxEvents: 100_000, maxBytes: 64 * 1024 });
    await appendN(j, 2000);
    const size = (await readFile(join(dir, 'journal.jsonl'))).length;
    assert.ok(size <= 64 * 1024 + 1024, `${size} bytes`);
    assert.equal(j.seq, 2000);
    await j.close();
  });
});
