// The agent stays free of native addons: only coordinator/store/binding.ts loads better-sqlite3,
// and the CLI reaches the coordinator's daemon (and the addon) only through a dynamic import.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : n.endsWith('.ts') ? [p] : [];
  });
}

describe('coordinator boundaries', () => {
  it('names better-sqlite3 in one file only, under coordinator/', () => {
    const hits = ['agent', 'shared', 'coordinator']
      .flatMap((d) => files(join(ROOT, d)))
      .filter((f) => readFileSync(f, 'utf8').includes("'better-sqlite3'"))
      .map((f) => relative(ROOT, f));
    assert.deepEqual(hits, ['coordinator/store/binding.ts']);
  });

  it('loads the coordinator daemon from the CLI only by a dynamic import', () => {
    const cmd = readFileSync(join(ROOT, 'coordinator/command.ts'), 'utf8');
    assert.match(cmd, /await import\('\.\/main\.ts'\)/);
    assert.doesNotMatch(cmd, /^import .*(main|coordinator|store)/m);
    const statics = [
      ...readFileSync(join(ROOT, 'coordinator/coordinator.ts'), 'utf8').matchAll(
        /^import .* from '(.*)';$/gm,
      ),
    ].map((m) => m[1]);
    assert.ok(!statics.includes('./store/sqlite.ts'), 'the SQLite store is imported lazily');
  });

  it('a virt-ft agent process does not load better-sqlite3', async () => {
    const { buildCli } = await import('../../../agent/cli.ts');
    buildCli();
    const loaded = Object.keys((await import('node:module')).createRequire(import.meta.url).cache);
    assert.deepEqual(
      loaded.filter((k) => k.includes('better-sqlite3')),
      [],
    );
  });
});
