/** Checks the module boundaries the design depends on, from the sources. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

function imports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  const re =
    /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  const out: string[] = [];
  for (const m of src.matchAll(re)) out.push(m[1] ?? m[2] ?? '');
  return out;
}

describe('architecture', () => {
  it('agent/libvirt imports only itself and node: builtins', () => {
    const base = join(ROOT, 'agent/libvirt');
    const files = tsFiles(base);
    assert.ok(files.length > 10, `found ${files.length} files under ${base}`);
    const offenders: string[] = [];
    for (const f of files) {
      for (const spec of imports(f)) {
        if (spec.startsWith('node:')) continue;
        const target = spec.startsWith('.') ? resolve(dirname(f), spec) : null;
        if (target === null || relative(base, target).startsWith('..')) {
          offenders.push(`${relative(ROOT, f)} imports ${spec}`);
        }
      }
    }
    assert.deepEqual(offenders, []);
  });

  it('only agent/health/smartctl.ts spawns processes', () => {
    const offenders: string[] = [];
    for (const dir of ['agent', 'shared', 'coordinator']) {
      let files: string[];
      try {
        files = tsFiles(join(ROOT, dir));
      } catch {
        continue; // the directory does not exist yet
      }
      for (const f of files) {
        if (relative(ROOT, f) === 'agent/health/smartctl.ts') continue;
        if (imports(f).includes('node:child_process')) offenders.push(relative(ROOT, f));
      }
    }
    assert.deepEqual(offenders, []);
  });
});
