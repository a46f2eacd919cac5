import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';

import {
  readJsonFile,
  readStateFile,
  writeFileAtomic,
  writeJsonAtomic,
} from '../../../agent/state/atomic-file.ts';
import { AgentError } from '../../../shared/errors.ts';

async function tmp(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vft-state-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function isStateError(re: RegExp) {
  return (err: unknown): boolean =>
    err instanceof AgentError && err.code === 'VFT_ERR_STATE_IO' && re.test(err.message);
}

describe('atomic state files', () => {
  it('writes JSON with mode 0600 whatever the umask, and reads it back', async (t) => {
    const dir = await tmp(t);
    const file = join(dir, 'h.json');
    const old = process.umask(0o000);
    try {
      await writeJsonAtomic(file, { a: 1, b: ['x'] });
    } finally {
      process.umask(old);
    }
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(await readJsonFile(file, null), { a: 1, b: ['x'] });
    assert.equal(await readFile(file, 'utf8'), '{\n  "a": 1,\n  "b": [\n    "x"\n  ]\n}\n');
  });

  it('replaces an existing file and leaves no temporary file behind', async (t) => {
    const dir = await tmp(t);
    const file = join(dir, 's.json');
    await writeFileAtomic(file, 'one');
    await writeFileAtomic(file, 'two', { mode: 0o640 });
    assert.equal(await readStateFile(file), 'two');
    assert.equal((await stat(file)).mode & 0o777, 0o640);
    assert.deepEqual(await readdir(dir), ['s.json']);
  });

  it('treats a missing file as the given value', async (t) => {
    const dir = await tmp(t);
    assert.equal(await readStateFile(join(dir, 'nope')), null);
    assert.deepEqual(await readJsonFile(join(dir, 'nope'), { empty: true }), { empty: true });
  });

  it('refuses to write through or over a symbolic link', async (t) => {
    const dir = await tmp(t);
    const target = join(dir, 'elsewhere');
    await writeFile(target, 'precious');
    await symlink(target, join(dir, 'link.json'));
    await assert.rejects(
      writeFileAtomic(join(dir, 'link.json'), 'x'),
      isStateError(/symbolic link/),
    );
    assert.equal(await readFile(target, 'utf8'), 'precious');
  });

  it('refuses to read a symbolic link, a directory or an oversized file', async (t) => {
    const dir = await tmp(t);
    await writeFile(join(dir, 'real'), '{}');
    await symlink(join(dir, 'real'), join(dir, 'link'));
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'big'), 'x'.repeat(100));
    await assert.rejects(readStateFile(join(dir, 'link')), isStateError(/symbolic link/));
    await assert.rejects(readStateFile(join(dir, 'sub')), isStateError(/not a regular file/));
    await assert.rejects(
      readStateFile(join(dir, 'big'), { maxBytes: 10 }),
      isStateError(/100 bytes is more than the limit of 10/),
    );
  });

  it('reports invalid JSON and a missing directory as state errors', async (t) => {
    const dir = await tmp(t);
    await writeFile(join(dir, 'bad.json'), '{');
    await assert.rejects(readJsonFile(join(dir, 'bad.json'), null), isStateError(/not valid JSON/));
    await assert.rejects(
      writeFileAtomic(join(dir, 'missing', 'x.json'), 'x'),
      isStateError(/Cannot write state file/),
    );
  });

  it('uses the caller-supplied serializer and parser', async (t) => {
    const dir = await tmp(t);
    const file = join(dir, 'big.json');
    await writeJsonAtomic(file, 1n, { stringify: (v) => String(v) });
    assert.equal(await readFile(file, 'utf8'), '1\n');
    assert.equal(await readJsonFile(file, null, { parse: (s) => BigInt(s.trim()) }), 1n);
  });

  it('leaves the old content in place when serializing fails or the target is a directory', async (t) => {
    const dir = await tmp(t);
    const file = join(dir, 'keep.json');
    await writeFileAtomic(file, 'old');
    const failing = (): string => {
      throw new Error('serializer failed');
    };
    await assert.rejects(writeJsonAtomic(file, {}, { stringify: failing }), /serializer failed/);
    await mkdir(join(dir, 'adir'));
    await assert.rejects(
      writeFileAtomic(join(dir, 'adir'), 'x'),
      isStateError(/not a regular file/),
    );
    assert.equal(await readStateFile(file), 'old');
    assert.deepEqual((await readdir(dir)).sort(), ['adir', 'keep.json']);
  });
});
