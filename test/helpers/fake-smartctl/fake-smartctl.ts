/**
 * A fake smartctl for tests: a small /bin/sh script written into a tmpdir that answers
 * `--scan-open` and device reads the way a test asks — print a capture and exit with a given
 * status, hang, fork a child that holds stdout, crash, or print garbage — and logs every call
 * with start and end times so tests can check concurrency and the argument vector.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** What the fake does for one device (matched on the last argument). */
export interface FakeAction {
  /** Printed to stdout. */
  readonly stdout?: string;
  /** Exit status. @default 0 */
  readonly exit?: number;
  /** Seconds to sleep before answering. */
  readonly sleepS?: number;
  /** Never answer: `exec sleep 300` (one process; its pid goes to `<device>.pid`). */
  readonly hang?: boolean;
  /** Never answer, with a background child holding stdout (its pid goes to `<device>.gpid`). */
  readonly hangWithChild?: boolean;
  /** Die by SIGSEGV. */
  readonly crash?: boolean;
}

export interface FakeSmartctl {
  readonly path: string;
  readonly dir: string;
  /** Log lines: `start PID NS ARGS…` and `end PID NS`. */
  calls(): Promise<string[]>;
  /** The pid a `hang` / `hangWithChild` action wrote. */
  pidOf(device: string, which: 'pid' | 'gpid'): Promise<number>;
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const fileName = (device: string): string => device.replace(/[^A-Za-z0-9]/g, '_');

/** Writes the fake into a tmpdir removed after the test. */
export async function fakeSmartctl(
  t: TestContext,
  behaviour: { scan?: string; devices?: Record<string, FakeAction>; fallback?: FakeAction },
): Promise<FakeSmartctl> {
  const dir = await mkdtemp(join(tmpdir(), 'vft-fake-smartctl-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const log = join(dir, 'calls.log');
  const lines = [
    '#!/bin/sh',
    `LOG=${q(log)}`,
    'last=""; for a in "$@"; do last="$a"; done',
    'echo "start $$ $(date +%s%N) $*" >> "$LOG"',
    'finish() { echo "end $$ $(date +%s%N)" >> "$LOG"; exit "$1"; }',
  ];
  await writeFile(
    join(dir, 'scan.out'),
    behaviour.scan ?? '{"smartctl":{"argv":["smartctl","--scan-open"],"exit_status":0}}',
  );
  lines.push(`if [ "$1" = "--scan-open" ]; then cat ${q(join(dir, 'scan.out'))}; finish 0; fi`);
  lines.push('case "$last" in');
  const entries = Object.entries(behaviour.devices ?? {});
  for (const [device, action] of entries) {
    lines.push(`  ${q(device)}) ${await actionScript(dir, device, action)} ;;`);
  }
  lines.push(
    `  *) ${await actionScript(dir, 'fallback', behaviour.fallback ?? { stdout: 'no such fake device', exit: 1 })} ;;`,
  );
  lines.push('esac');
  const path = join(dir, 'smartctl');
  await writeFile(path, `${lines.join('\n')}\n`);
  await chmod(path, 0o755);
  return {
    path,
    dir,
    calls: async () =>
      (await readFile(log, 'utf8').catch(() => '')).split('\n').filter((l) => l !== ''),
    pidOf: async (device, which) =>
      Number((await readFile(join(dir, `${fileName(device)}.${which}`), 'utf8')).trim()),
  };
}

async function actionScript(dir: string, device: string, a: FakeAction): Promise<string> {
  const base = join(dir, fileName(device));
  if (a.hang === true) return `echo $$ > ${q(`${base}.pid`)}; exec sleep 300`;
  if (a.hangWithChild === true) return `sleep 300 & echo $! > ${q(`${base}.gpid`)}; wait`;
  if (a.crash === true) return 'kill -SEGV $$';
  const parts: string[] = [];
  if (a.sleepS !== undefined) parts.push(`sleep ${a.sleepS}`);
  if (a.stdout !== undefined) {
    await writeFile(`${base}.out`, a.stdout);
    parts.push(`cat ${q(`${base}.out`)}`);
  }
  parts.push(`finish ${a.exit ?? 0}`);
  return parts.join('; ');
}

/** Child processes of this process that are zombies (`Z` in /proc/PID/stat). */
export async function defunctChildren(): Promise<number[]> {
  const { readdir } = await import('node:fs/promises');
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid …; comm may contain spaces, so split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z' && Number(rest[1]) === process.pid) out.push(Number(name));
  }
  return out;
}

/** True when a process with this pid exists (zombies included). */
export async function processExists(pid: number): Promise<boolean> {
  return (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null)) !== null;
}
