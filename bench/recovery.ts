/**
 * Benchmark: how fast the agent detects a dead QEMU and has the VM running again, beside the
 * simplest peer libvirt's C library allows (bench/recovery_peer.py: a lifecycle callback that
 * calls create() on STOPPED/FAILED, no policy), in one run, on the same real TCG guest.
 *
 *   npm run build && node dist/bench/recovery.js [--runs 20] [--json FILE] [--sides both|ours|peer]
 *
 * Each run: the guest runs; QEMU is killed with SIGKILL; a separate reference connection (our
 * client, subscribed to the domain's lifecycle events) timestamps libvirt's STOPPED/FAILED
 * event and the STARTED event that follows. Measured per run:
 *   detection  the agent's failure transition (its onTransition) − the reference's STOPPED/FAILED
 *              (peer: its callback time − the reference's event), in ms
 *   decided    the agent's decision persisted (fsynced) − the event, in ms (ours only)
 *   running    the reference's STARTED − the SIGKILL, in s
 * The agent runs in this process with the VM's restart window at 1 s and runs spaced 1.5 s, so
 * every run is a first failure (an immediate restart), as the peer's always is; host incidents
 * are off (other suites' VMs may fail on a shared test bed meanwhile).
 * Prints p50 and p99 per side and the ratios ours/peer. Not a test: nothing asserts on time.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { ActionExecutor } from '../agent/actions/index.ts';
import { Agent } from '../agent/agent.ts';
import { validateConfig } from '../agent/config/load.ts';
import { LibvirtClient, UndefineFlags } from '../agent/libvirt/index.ts';
import type { DomainEvent, EventGap } from '../agent/libvirt/index.ts';
import { createLogger } from '../agent/log.ts';
import { qemuPid } from '../test/helpers/daemon.ts';
import { guestDomainXml, requireTestbed } from '../test/helpers/testbed.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    json: { type: 'string' },
    sides: { type: 'string', default: 'both' },
  },
});
const RUNS = Number(args.runs);
const PEER = fileURLToPath(new URL('../../bench/recovery_peer.py', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Wall-clock ms with sub-ms resolution (comparable with the peer's time.time()). */
const now = (): number => performance.timeOrigin + performance.now();

interface Run {
  detectionMs: number;
  decidedMs: number | null;
  runningS: number;
}

/** Lifecycle events of one domain, timestamped on arrival. */
class Reference {
  readonly events: { label: string; at: number }[] = [];
  static async open(uuid: string): Promise<{ ref: Reference; client: LibvirtClient }> {
    const client = await LibvirtClient.connect({ uri: requireTestbed().connect });
    const dom = await client.lookupDomainByUuid(uuid);
    const sub = await client.subscribe({ domain: dom, events: ['lifecycle'] });
    const ref = new Reference();
    void (async () => {
      for await (const e of sub as AsyncIterable<DomainEvent | EventGap>) {
        if (e.event === 'lifecycle') ref.events.push({ label: `${e.type}/${e.detail}`, at: now() });
      }
    })();
    return { ref, client };
  }
  async next(label: string, from: number, timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.slice(from).find((e) => e.label === label);
      if (hit) return hit.at;
      if (Date.now() > deadline) throw new Error(`no ${label} within ${timeoutMs} ms`);
      await sleep(5);
    }
  }
}

async function waitRunning(client: LibvirtClient, uuid: string): Promise<void> {
  const dom = await client.lookupDomainByUuid(uuid);
  if (!dom) throw new Error('domain vanished');
  for (let i = 0; i < 600; i++) {
    if ((await client.domainGetState(dom)).stateName === 'Running') return;
    await sleep(50);
  }
  throw new Error('domain not running');
}

async function oneKill(
  name: string,
  uuid: string,
  ref: Reference,
  client: LibvirtClient,
  detectedAt: () => Promise<number>,
  decidedAt: () => Promise<number | null>,
): Promise<Run> {
  await waitRunning(client, uuid);
  await sleep(1500); // past the 1 s restart window: every run is a first failure
  const from = ref.events.length;
  const tKill = now();
  process.kill(await qemuPid(name), 'SIGKILL');
  const tEvent = await ref.next('Stopped/Failed', from);
  const tDet = await detectedAt();
  const tDec = await decidedAt();
  const tRun = await ref.next('Started/Booted', from);
  return {
    detectionMs: tDet - tEvent,
    decidedMs: tDec === null ? null : tDec - tEvent,
    runningS: (tRun - tKill) / 1000,
  };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

async function runOurs(
  name: string,
  uuid: string,
  ref: Reference,
  client: LibvirtClient,
): Promise<Run[]> {
  const stateDir = await mkdtemp(join(tmpdir(), 'vft-bench-rec-'));
  const config = validateConfig(
    {
      stateDir,
      startupGraceMs: 0,
      health: { enabled: false },
      policy: { level: 'off' },
      domains: { [name]: { level: 'low', restart: { windowMs: 1_000, maxRestarts: 100 } } },
      // Other suites' VMs failing on this shared test bed must not make a host incident here.
      host: { incidentFailures: 1_000 },
    },
    'bench',
  );
  const sink = new Writable({
    write: (_c, _e, cb) => {
      cb();
    },
  });
  const agent = new Agent(
    config,
    createLogger('warn', sink),
    (d) => new ActionExecutor(d),
    'bench',
  );
  let detected: number[] = [];
  let decided: number[] = [];
  agent.addListener({
    onTransition: (t) => {
      if (t.uuid === uuid && t.to?.state === 'Shutoff') detected.push(now());
    },
    onDecision: (d) => {
      // Called once the decision is fsynced to the state dir, before its action runs.
      if (d.domain.uuid === uuid && !d.outcome) decided.push(now());
    },
  });
  await agent.start();
  const runs: Run[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      detected = [];
      decided = [];
      const first = async <T>(xs: () => T[]): Promise<T> => {
        for (let k = 0; k < 6000; k++) {
          const v = xs()[0];
          if (v !== undefined) return v;
          await sleep(5);
        }
        throw new Error('agent did not react');
      };
      runs.push(
        await oneKill(
          name,
          uuid,
          ref,
          client,
          () => first(() => detected),
          () => first(() => decided),
        ),
      );
      process.stdout.write('.');
    }
  } finally {
    await agent.close();
    await rm(stateDir, { recursive: true, force: true });
  }
  return runs;
}

async function runPeer(
  name: string,
  uuid: string,
  ref: Reference,
  client: LibvirtClient,
): Promise<Run[]> {
  const child = spawn('/usr/bin/python3', [PEER, name], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: { event?: number; running?: number; ready?: boolean }[] = [];
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (c: string) => {
    buf += c;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)) as (typeof lines)[number]);
      buf = buf.slice(i + 1);
    }
  });
  for (let k = 0; !lines.some((l) => l.ready); k++) {
    if (k > 400) throw new Error('peer did not start');
    await sleep(25);
  }
  const runs: Run[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const from = lines.length;
      const at = async (): Promise<number> => {
        for (let k = 0; k < 6000; k++) {
          const l = lines.slice(from).find((x) => x.event !== undefined);
          if (l?.event !== undefined) return l.event;
          await sleep(5);
        }
        throw new Error('peer did not react');
      };
      runs.push(await oneKill(name, uuid, ref, client, at, () => Promise.resolve(null)));
      process.stdout.write('.');
    }
  } finally {
    child.stdin.end();
    child.kill();
  }
  return runs;
}

function summary(label: string, runs: Run[]): Record<string, number | null> {
  const det = runs.map((r) => r.detectionMs);
  const dec = runs.flatMap((r) => (r.decidedMs === null ? [] : [r.decidedMs]));
  const run = runs.map((r) => r.runningS);
  const s = {
    detectionP50Ms: pct(det, 50),
    detectionP99Ms: pct(det, 99),
    decidedP50Ms: dec.length ? pct(dec, 50) : null,
    decidedP99Ms: dec.length ? pct(dec, 99) : null,
    runningP50S: pct(run, 50),
    runningP99S: pct(run, 99),
  };
  console.log(
    `${label.padEnd(6)} detection p50 ${s.detectionP50Ms.toFixed(2)} ms, p99 ${s.detectionP99Ms.toFixed(2)} ms` +
      (s.decidedP50Ms !== null && s.decidedP99Ms !== null
        ? `; decision persisted p50 ${s.decidedP50Ms.toFixed(2)} ms, p99 ${s.decidedP99Ms.toFixed(2)} ms`
        : '') +
      `; crash → running p50 ${s.runningP50S.toFixed(3)} s, p99 ${s.runningP99S.toFixed(3)} s`,
  );
  return s;
}

async function main(): Promise<void> {
  const name = `vft-test-bench-rec-${randomUUID().slice(0, 6)}`;
  const setup = await LibvirtClient.connect({ uri: requireTestbed().connect });
  const dom = await setup.domainDefineXml(guestDomainXml({ name }));
  await setup.domainCreate(dom);
  const { ref, client } = await Reference.open(dom.uuid);
  console.log(
    `recovery bench: ${RUNS} runs per side on ${name} (TCG), node ${process.version}, load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  const out: Record<string, unknown> = { runs: RUNS, node: process.version };
  try {
    if (args.sides !== 'peer') {
      const ours = await runOurs(name, dom.uuid, ref, client);
      process.stdout.write('\n');
      out['ours'] = { summary: summary('ours', ours), runs: ours };
    }
    if (args.sides !== 'ours') {
      const peer = await runPeer(name, dom.uuid, ref, client);
      process.stdout.write('\n');
      out['peer'] = { summary: summary('peer', peer), runs: peer };
    }
    const o = (out['ours'] as { summary?: Record<string, number> } | undefined)?.summary;
    const p = (out['peer'] as { summary?: Record<string, number> } | undefined)?.summary;
    if (o && p) {
      const r = (k: string) => ((o[k] ?? NaN) / (p[k] ?? NaN)).toFixed(2);
      console.log(
        `ratios ours/peer: detection p50 ${r('detectionP50Ms')}, p99 ${r('detectionP99Ms')}; running p50 ${r('runningP50S')}, p99 ${r('runningP99S')}`,
      );
    }
    console.log(
      `targets: detection p99 < 100 ms → ${o ? (o['detectionP99Ms']! < 100 ? 'met' : 'MISSED') : 'n/a'}; crash → running p50 < 2 s → ${o ? (o['runningP50S']! < 2 ? 'met' : 'MISSED') : 'n/a'}`,
    );
    console.log(
      `load after: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    if (args.json) await writeFile(args.json, JSON.stringify(out, null, 2));
  } finally {
    await client.close();
    const live = await setup.lookupDomainByUuid(dom.uuid);
    if (live && (await setup.domainIsActive(live))) await setup.domainDestroy(live);
    if (live) await setup.domainUndefine(live, UndefineFlags.MANAGED_SAVE);
    await setup.close();
  }
}

await main();
