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

/**
 * The running libvirtd's pid: from its pid file, checked against /proc (pgrep would also list
 * the short-lived parent of a `libvirtd -d` that is still daemonizing).
 */
export async function libvirtdPid(): Promise<number> {
  const pid = Number((await readFile('/run/libvirtd.pid', 'utf8')).trim());
  const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
  if (!Number.isInteger(pid) || pid <= 0 || comm.trim() !== 'libvirtd') {
    throw new Error(
      `no libvirtd running (pid file says ${pid}, /proc says ${comm.trim() || 'nothing'})`,
    );
  }
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
