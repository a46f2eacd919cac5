/**
 * The coordinator's integration bed: two real agents (child processes on their own ports and
 * state directories, against the test bed's libvirtd) and a real coordinator process. Agent
 * "vft-a" acts only on this suite's VMs (policy level off globally, `low` for each VM it is
 * given by name, so it never touches what other suites run on the shared libvirtd); agent
 * "vft-b" has level off everywhere and only observes. Both see every VM.
 */
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LibvirtClient, UndefineFlags } from '../../../agent/libvirt/index.ts';
import type { Domain } from '../../../agent/libvirt/index.ts';
import { tokenHash } from '../../../agent/stream/auth.ts';
import { AgentProcess, freePort } from '../../helpers/agent-process.ts';
import { CLI } from '../../helpers/cli.ts';
import { createQcow2, guestDomainXml, requireTestbed } from '../../helpers/testbed.ts';
import type { GuestOptions } from '../../helpers/testbed.ts';

/** The coordinator's token at the agents (operator), and admin tokens at the coordinator. */
export const AGENT_TOKEN = 'e5'.repeat(32);
export const API = { viewer: 'f6'.repeat(32), operator: 'a7'.repeat(32), admin: 'b8'.repeat(32) };

/** A real `virt-ft coordinator` process. */
export class CoordinatorProcess {
  readonly dir: string;
  readonly port: number;
  readonly logs: Record<string, unknown>[] = [];
  #child: ChildProcess | null = null;
  #exit: Promise<unknown> = Promise.resolve();

  constructor(dir: string, port: number) {
    this.dir = dir;
    this.port = port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(agents: readonly AgentProcess[]): Promise<CoordinatorProcess> {
    const dir = await mkdtemp(join(tmpdir(), 'vft-coord-'));
    const c = new CoordinatorProcess(dir, await freePort());
    const config = {
      stateDir: join(dir, 'state'),
      agents: agents.map((a) => ({ id: a.agentId, url: a.url, token: AGENT_TOKEN })),
      reconnect: { baseMs: 100, capMs: 1_000 },
      pingIntervalMs: 1_000,
      api: {
        listen: `127.0.0.1:${c.port}`,
        tokens: Object.entries(API).map(([role, t]) => ({
          id: `${role}-1`,
          role,
          sha256: tokenHash(t),
        })),
      },
    };
    await writeFile(join(dir, 'coordinator.json'), JSON.stringify(config, null, 2), {
      mode: 0o600,
    });
    await c.spawn();
    return c;
  }

  async spawn(): Promise<void> {
    const from = this.logs.length;
    const child = spawn(
      process.execPath,
      [CLI, 'coordinator', '--config', join(this.dir, 'coordinator.json')],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    this.#child = child;
    this.#exit = new Promise((r) => child.once('exit', r));
    let buf = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          this.logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          /* not a log line */
        }
      }
    });
    const deadline = Date.now() + 30_000;
    while (!this.logs.slice(from).some((l) => l['msg'] === 'coordinator started')) {
      if (child.exitCode !== null) throw new Error(`coordinator exited ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error('coordinator did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const c = this.#child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill(signal);
    await this.#exit;
  }

  /** GET with a token (viewer by default); the parsed body. */
  async get(path: string, token: string = API.viewer): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.url}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  }

  async cleanup(): Promise<void> {
    await this.kill('SIGTERM');
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The two agents, the coordinator, a libvirt client and the suite's guests. */
export class Fleet2 {
  a!: AgentProcess;
  b!: AgentProcess;
  coord!: CoordinatorProcess;
  client!: LibvirtClient;
  readonly names: string[];
  readonly #cleanups: (() => Promise<void>)[] = [];

  /** `names`: the VMs agent vft-a acts on (give them to {@link guest} later). */
  constructor(suite: string, count: number) {
    this.names = Array.from(
      { length: count },
      (_, i) => `vft-test-coord-${suite}${i}-${randomUUID().slice(0, 6)}`,
    );
  }

  async open(): Promise<void> {
    requireTestbed();
    this.client = await LibvirtClient.connect({ uri: requireTestbed().connect });
    const tokens = [{ id: 'coordinator', role: 'operator' as const, token: AGENT_TOKEN }];
    const stream = { limits: { destructiveCooldownMs: 0 } };
    this.a = await AgentProcess.start({
      agentId: 'vft-a',
      tokens,
      stream,
      config: {
        policy: { level: 'off' },
        domains: Object.fromEntries(this.names.map((n) => [n, { level: 'low' }])),
      },
    });
    this.b = await AgentProcess.start({
      agentId: 'vft-b',
      tokens,
      stream,
      config: { policy: { level: 'off' } },
    });
    this.coord = await CoordinatorProcess.start([this.a, this.b]);
  }

  async close(): Promise<void> {
    for (const c of this.#cleanups.reverse()) await c().catch(() => undefined);
    await this.coord.cleanup().catch(() => undefined);
    await this.a.cleanup().catch(() => undefined);
    await this.b.cleanup().catch(() => undefined);
    await this.client.close();
  }

  /** Defines a persistent guest `names[i]` with a 64 MiB qcow2 disk; removed at close. */
  async guest(i: number, opts: Partial<GuestOptions> = {}): Promise<Domain> {
    const name = this.names[i] ?? '';
    const diskPath = join(requireTestbed().imagesDir, `${name}.qcow2`);
    await createQcow2(diskPath, 64);
    const dom = await this.client.domainDefineXml(guestDomainXml({ name, diskPath, ...opts }));
    this.#cleanups.push(async () => {
      const live = await this.client.lookupDomainByUuid(dom.uuid);
      if (live) {
        if (await this.client.domainIsActive(live)) await this.client.domainDestroy(live);
        await this.client.domainUndefine(
          live,
          UndefineFlags.MANAGED_SAVE |
            UndefineFlags.SNAPSHOTS_METADATA |
            UndefineFlags.CHECKPOINTS_METADATA,
        );
      }
      await rm(diskPath, { force: true });
    });
    return dom;
  }

  /** Waits until both hosts are reachable at the coordinator. */
  async reachable(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hosts = (await this.coord.get('/v1/hosts'))['hosts'] as { reachable: boolean }[];
      if (hosts.length === 2 && hosts.every((h) => h.reachable)) return;
      if (Date.now() > deadline) throw new Error(`hosts not reachable: ${JSON.stringify(hosts)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
