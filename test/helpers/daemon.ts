import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** scripts/testbed.sh in this checkout. */
export const TESTBED_SCRIPT = fileURLToPath(
  new URL('../../../scripts/testbed.sh', import.meta.url),
);

function run(cmd: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** The running libvirtd's pid (from pgrep; the pid file may be stale). */
export async function libvirtdPid(): Promise<number> {
  const out = await run('pgrep', ['-x', 'libvirtd'], 5_000);
  const pid = Number(out.trim().split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0)
    throw new Error(`no libvirtd running (pgrep said ${out})`);
  return pid;
}

/** (Re)starts the test bed's daemons and waits until they answer. */
export async function startLibvirtd(): Promise<void> {
  await run('bash', [TESTBED_SCRIPT, 'start'], 60_000);
}

/** The pid of a running domain's QEMU process, from libvirt's pid file. */
export async function qemuPid(domainName: string): Promise<number> {
  const text = await readFile(`/var/run/libvirt/qemu/${domainName}.pid`, 'utf8');
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0)
    throw new Error(`bad pid file for ${domainName}: ${text}`);
  return pid;
}
