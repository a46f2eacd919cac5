// The real libvirt + QEMU test bed that `scripts/testbed.sh up` prepares (docs/testbed.md):
// its paths (from testbed.env), the guest's domain XML, qcow2 disks and a polling helper.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { UndefineFlags } from '../../agent/libvirt/index.ts';
import type { Domain, LibvirtClient } from '../../agent/libvirt/index.ts';
import { join } from 'node:path';

export const TESTBED_DIR = process.env['VFT_TESTBED_DIR'] ?? '/var/lib/virt-ft-testbed';

/** Name prefix of every test domain; `scripts/testbed.sh clean` removes what carries it. */
export const TEST_DOMAIN_PREFIX = 'vft-test-';

export interface Testbed {
  readonly dir: string;
  /** libvirt URI of the test bed's daemon (qemu:///system). */
  readonly connect: string;
  /** Debian cloud kernel (boots in ~2.5 s under TCG) and its initramfs. */
  readonly kernel: string;
  readonly initrd: string;
  readonly kernelVersion: string;
  /** Debian generic kernel: slower to boot (~4.7 s) but has the i6300esb watchdog driver. */
  readonly genericKernel: string;
  readonly genericInitrd: string;
  readonly genericKernelVersion: string;
  /** Where disk images go (/var/lib/libvirt/images). */
  readonly imagesDir: string;
  /** Where serial console logs go. */
  readonly consoleDir: string;
}

/** Parses shell-style `KEY=VALUE` lines; blank lines and `#` comments are skipped. */
export function parseEnvFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    let value = line.slice(eq + 1);
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    out.set(line.slice(0, eq), value);
  }
  return out;
}

/** The test bed in `dir`, or undefined when `testbed.env` is not there (not set up). */
export function loadTestbed(dir: string = TESTBED_DIR): Testbed | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, 'testbed.env'), 'utf8');
  } catch {
    return undefined;
  }
  const env = parseEnvFile(text);
  const get = (key: string): string => {
    const v = env.get(key);
    if (v === undefined) throw new Error(`${join(dir, 'testbed.env')}: ${key} missing`);
    return v;
  };
  return {
    dir,
    connect: env.get('VFT_TESTBED_CONNECT') ?? 'qemu:///system',
    kernel: get('VFT_TESTBED_KERNEL'),
    initrd: get('VFT_TESTBED_INITRD'),
    kernelVersion: get('VFT_TESTBED_KERNEL_VERSION'),
    genericKernel: get('VFT_TESTBED_GENERIC_KERNEL'),
    genericInitrd: get('VFT_TESTBED_GENERIC_INITRD'),
    genericKernelVersion: get('VFT_TESTBED_GENERIC_KERNEL_VERSION'),
    imagesDir: get('VFT_TESTBED_IMAGES_DIR'),
    consoleDir: get('VFT_TESTBED_CONSOLE_DIR'),
  };
}

/** Read once at import; undefined when the test bed is not set up. */
export const testbed: Testbed | undefined = loadTestbed();

/** Why real-guest tests must skip here, or undefined when they can run (`{ skip: ... }`). */
const NO_TESTBED = `no test bed in ${TESTBED_DIR} (run as root: scripts/testbed.sh up)`;

/**
 * Real-guest tests never skip silently: without a test bed they fail with {@link NO_TESTBED},
 * unless VFT_ALLOW_NO_TESTBED=1 says this run means to skip them (e.g. a laptop without KVM).
 */
export const testbedSkipReason: string | undefined =
  testbed === undefined && process.env['VFT_ALLOW_NO_TESTBED'] === '1' ? NO_TESTBED : undefined;

export function requireTestbed(): Testbed {
  if (testbed === undefined) throw new Error(NO_TESTBED);
  return testbed;
}

export type VirtType = 'qemu' | 'kvm';

/** `VFT_VIRT_TYPE` (default qemu, i.e. TCG: nested KVM hangs Linux guests on these machines). */
export function virtType(): VirtType {
  const v = process.env['VFT_VIRT_TYPE'] ?? 'qemu';
  if (v !== 'qemu' && v !== 'kvm') throw new Error(`VFT_VIRT_TYPE must be qemu or kvm, not ${v}`);
  return v;
}

/** What the guest's /init does (kernel command line `vft.mode=`). */
export type GuestMode = 'run' | 'panic' | 'poweroff' | 'reboot' | 'watchdog-hang';
export type CrashAction = 'preserve' | 'restart' | 'destroy';
export type LifecycleAction = 'destroy' | 'restart' | 'preserve';
export type WatchdogAction =
  'reset' | 'shutdown' | 'poweroff' | 'pause' | 'none' | 'dump' | 'inject-nmi';

export interface GuestOptions {
  /** Must start with `vft-test-` (or be `vft-demo…`), so `testbed.sh clean` finds leftovers. */
  readonly name: string;
  readonly uuid?: string;
  /** Default run (stay up). */
  readonly mode?: GuestMode;
  /** Seconds after the ready line before panic/poweroff/reboot/watchdog stop (default 5). */
  readonly after?: number;
  /** Default 128. */
  readonly memoryMiB?: number;
  /** Default virtType() (env VFT_VIRT_TYPE). */
  readonly virtType?: VirtType;
  readonly onCrash?: CrashAction;
  readonly onPoweroff?: LifecycleAction;
  readonly onReboot?: LifecycleAction;
  /** A qcow2 file (see createQcow2) attached as virtio disk vda. */
  readonly diskPath?: string;
  /** Serial console file; default `<consoleDir>/<name>.log`, truncated at each start. */
  readonly consolePath?: string;
  /** Adds the org.qemu.guest_agent.0 channel and starts qemu-ga in the guest. */
  readonly guestAgent?: boolean;
  /** SIGSTOP qemu-ga after N s: hung agent (still connected, commands time out). */
  readonly agentStopAfter?: number;
  /** SIGKILL qemu-ga after N s: agent gone (libvirt sees the channel disconnect). */
  readonly agentKillAfter?: number;
  /** An emulated i6300esb watchdog; the guest needs the generic kernel to drive it. */
  readonly watchdog?: { readonly action: WatchdogAction };
  /** Timeout the guest's watchdog daemon sets (vft.wd_timeout, default 10 s). */
  readonly watchdogTimeoutS?: number;
  /** Default: generic with a watchdog or mode watchdog-hang, else cloud. */
  readonly kernel?: 'cloud' | 'generic';
  /** More kernel command line words (debugging). */
  readonly extraCmdline?: string;
  /** Default requireTestbed(). */
  readonly testbed?: Testbed;
}

/** Escapes an XML attribute value or text. */
function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function count(what: string, n: number, min = 0): number {
  if (!Number.isInteger(n) || n < min) throw new Error(`${what} must be an integer >= ${min}`);
  return n;
}

export function consoleLogPath(name: string, tb: Testbed = requireTestbed()): string {
  return join(tb.consoleDir, `${name}.log`);
}

/** A domain XML for the test guest (direct kernel boot, serial console to a file, ISA pvpanic). */
export function guestDomainXml(opts: GuestOptions): string {
  const tb = opts.testbed ?? requireTestbed();
  const { name } = opts;
  if (!name.startsWith(TEST_DOMAIN_PREFIX) && !name.startsWith('vft-demo'))
    throw new Error(`test domain names start with ${TEST_DOMAIN_PREFIX}: ${name}`);
  const mode = opts.mode ?? 'run';
  const generic =
    (opts.kernel ?? (opts.watchdog || mode === 'watchdog-hang' ? 'generic' : 'cloud')) ===
    'generic';
  const words = ['console=ttyS0', 'quiet', `vft.mode=${mode}`];
  if (opts.after !== undefined) words.push(`vft.after=${count('after', opts.after)}`);
  const agent = opts.guestAgent ?? false;
  if (agent) words.push('vft.agent=1');
  if (opts.agentStopAfter !== undefined)
    words.push(`vft.agent_stop_after=${count('agentStopAfter', opts.agentStopAfter)}`);
  if (opts.agentKillAfter !== undefined)
    words.push(`vft.agent_kill_after=${count('agentKillAfter', opts.agentKillAfter)}`);
  if (opts.watchdogTimeoutS !== undefined)
    words.push(`vft.wd_timeout=${count('watchdogTimeoutS', opts.watchdogTimeoutS, 1)}`);
  if (opts.extraCmdline !== undefined) words.push(opts.extraCmdline);

  const devices = [
    `    <serial type='file'>`,
    `      <source path='${esc(opts.consolePath ?? consoleLogPath(name, tb))}' append='off'/>`,
    `      <target port='0'/>`,
    `    </serial>`,
    `    <panic model='isa'/>`,
    `    <controller type='usb' model='none'/>`,
    `    <memballoon model='none'/>`,
  ];
  if (opts.diskPath !== undefined) {
    devices.push(
      `    <disk type='file' device='disk'>`,
      `      <driver name='qemu' type='qcow2'/>`,
      `      <source file='${esc(opts.diskPath)}'/>`,
      `      <target dev='vda' bus='virtio'/>`,
      `    </disk>`,
    );
  }
  if (agent) {
    devices.push(
      `    <channel type='unix'>`,
      `      <target type='virtio' name='org.qemu.guest_agent.0'/>`,
      `    </channel>`,
    );
  }
  if (opts.watchdog)
    devices.push(`    <watchdog model='i6300esb' action='${esc(opts.watchdog.action)}'/>`);

  return [
    `<domain type='${esc(opts.virtType ?? virtType())}'>`,
    `  <name>${esc(name)}</name>`,
    ...(opts.uuid !== undefined ? [`  <uuid>${esc(opts.uuid)}</uuid>`] : []),
    `  <memory unit='MiB'>${count('memoryMiB', opts.memoryMiB ?? 128, 16)}</memory>`,
    `  <vcpu>1</vcpu>`,
    `  <os>`,
    `    <type arch='x86_64' machine='pc'>hvm</type>`,
    `    <kernel>${esc(generic ? tb.genericKernel : tb.kernel)}</kernel>`,
    `    <initrd>${esc(generic ? tb.genericInitrd : tb.initrd)}</initrd>`,
    `    <cmdline>${esc(words.join(' '))}</cmdline>`,
    `  </os>`,
    // ACPI: pvpanic (ISA, found through ACPI) and a clean power-off need it.
    `  <features><acpi/><apic/></features>`,
    `  <on_poweroff>${esc(opts.onPoweroff ?? 'destroy')}</on_poweroff>`,
    `  <on_reboot>${esc(opts.onReboot ?? 'restart')}</on_reboot>`,
    `  <on_crash>${esc(opts.onCrash ?? 'preserve')}</on_crash>`,
    `  <devices>`,
    ...devices,
    `  </devices>`,
    `</domain>`,
    '',
  ].join('\n');
}

/** Creates a qcow2 image of `sizeMiB` MiB with qemu-img (64 MiB is enough for snapshots). */
export function createQcow2(path: string, sizeMiB: number, timeoutMs = 30_000): Promise<void> {
  const size = `${count('sizeMiB', sizeMiB, 1)}M`;
  return new Promise((resolve, reject) => {
    execFile(
      'qemu-img',
      ['create', '-q', '-f', 'qcow2', path, size],
      { timeout: timeoutMs },
      (err, _stdout, stderr) => {
        if (err) reject(new Error(`qemu-img create ${path}: ${stderr.trim() || err.message}`));
        else resolve();
      },
    );
  });
}

/** The serial console text so far ('' before QEMU created the file). */
export async function readConsole(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

export interface WaitOptions {
  readonly timeoutMs: number;
  /** Default 100. */
  readonly intervalMs?: number;
  /** Named in the timeout error. */
  readonly what?: string;
}

/**
 * Polls `predicate` until it returns a value other than false/undefined/null and returns that
 * value. A throw counts as "not yet"; the last one is named in the timeout error.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  opts: WaitOptions,
): Promise<Exclude<T, false | undefined | null>> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 100;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await predicate();
      if (v !== false && v !== undefined && v !== null)
        return v as Exclude<T, false | undefined | null>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(
        `timed out after ${opts.timeoutMs} ms waiting for ${opts.what ?? 'condition'}${why}`,
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(0, deadline - Date.now()))));
  }
}

/** A test guest defined in libvirt, and how to remove every trace of it. */
export interface TestGuest {
  readonly dom: Domain;
  readonly diskPath: string | null;
  /**
   * Destroys (if running) and undefines it with its snapshot, checkpoint and save metadata;
   * deletes its disk. `via` replaces the client it was defined with (e.g. after a reconnect).
   */
  remove(via?: LibvirtClient): Promise<void>;
}

/**
 * Defines a persistent test guest (name must start with `vft-test-`), with its own qcow2 disk
 * of `diskMiB` (default 64; 0 for none). Does not start it.
 */
export async function defineTestGuest(
  client: LibvirtClient,
  opts: GuestOptions & { readonly diskMiB?: number },
): Promise<TestGuest> {
  const { diskMiB = 64, ...guest } = opts;
  const diskPath =
    guest.diskPath ??
    (diskMiB > 0 ? join((opts.testbed ?? requireTestbed()).imagesDir, `${opts.name}.qcow2`) : null);
  if (diskPath !== null && guest.diskPath === undefined) await createQcow2(diskPath, diskMiB);
  const dom = await client.domainDefineXml(
    guestDomainXml({ ...guest, ...(diskPath !== null ? { diskPath } : {}) }),
  );
  return {
    dom,
    diskPath,
    async remove(via = client) {
      const live = await via.lookupDomainByUuid(dom.uuid).catch(() => null);
      if (live) {
        if (await via.domainIsActive(live)) await via.domainDestroy(live).catch(() => undefined);
        await via
          .domainUndefine(
            live,
            UndefineFlags.MANAGED_SAVE |
              UndefineFlags.SNAPSHOTS_METADATA |
              UndefineFlags.CHECKPOINTS_METADATA,
          )
          .catch(() => undefined);
      }
      if (diskPath !== null) await rm(diskPath, { force: true });
    },
  };
}
