#!/usr/bin/env node
// Runs the compiled test files with Node's own test runner.
// Usage: node scripts/run-tests.mjs [unit|integration|all] [--name PATTERN]
// Unit tests run in parallel; integration tests share one libvirtd and run one file at a time.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const layer = args[0] && !args[0].startsWith('-') ? args.shift() : 'all';
const extra = args;

function find(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

function run(files, concurrency) {
  if (files.length === 0) return 0;
  const r = spawnSync(
    process.execPath,
    ['--test', `--test-concurrency=${concurrency}`, ...extra, ...files],
    { stdio: 'inherit' },
  );
  return r.status ?? 1;
}

/**
 * Integration tests need the test bed's daemons. After a reboot they are down: start them (as
 * root) when the test bed exists, so `npm test` alone works once `scripts/testbed.sh up` ran.
 */
function ensureDaemons() {
  const dir = process.env.VFT_TESTBED_DIR ?? '/var/lib/virt-ft-testbed';
  if (!existsSync(join(dir, 'testbed.env')) || process.getuid?.() !== 0) return;
  const r = spawnSync('bash', ['scripts/testbed.sh', 'start'], { stdio: 'inherit' });
  if (r.status !== 0) process.stderr.write('run-tests: could not start the test bed daemons\n');
}

let status = 0;
if (layer === 'unit' || layer === 'all') status ||= run(find('dist/test/unit'), 2);
if (layer === 'integration' || layer === 'all') {
  ensureDaemons();
  status ||= run(find('dist/test/integration'), 1);
}
process.exit(status);
