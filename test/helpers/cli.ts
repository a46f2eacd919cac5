import { execFile, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The compiled CLI entry point (dist/agent/main.js). */
export const CLI = fileURLToPath(new URL('../../agent/main.js', import.meta.url));

/** Runs `virt-ft ARGS` to completion; never rejects on a non-zero exit. */
export function runCliProcess(
  args: readonly string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
        env: options.env ?? process.env,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Starts `virt-ft ARGS` in the background; lines of stdout are delivered as they come. */
export function spawnCli(
  args: readonly string[],
  onLine: (line: string) => void,
): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: 'pipe' });
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  return child;
}
