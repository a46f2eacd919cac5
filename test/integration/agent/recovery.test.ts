/**
 * The agent daemon (`virt-ft agent`, a real child process) on the real test bed: QEMU killed →
 * running again; guest panic → running again; a guest's own power-off under on-failure →
 * stays off; a crash loop → backoff, revert to known-good, quarantine; the high level's
 * schedule; and `virt-ft status --json` showing the failure, the decision and the recovery time.
 *
 * Only this file's VMs get a policy (by name in the config); the global level is `off`, so the
 * agent never touches other tests' domains.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LibvirtClient } from '../../../agent/libvirt/index.ts';
import type { Domain } from '../../../agent/libvirt/index.ts';
import { runCliProcess } from '../../helpers/cli.ts';
import { qemuPid } from '../../helpers/daemon.ts';
import { AgentProcess } from '../../helpers/agent-process.ts';
import type { LogLine } from '../../helpers/agent-process.ts';
import {
  defineTestGuest,
  requireTestbed,
  testbedSkipReason,
  waitFor,
} from '../../helpers/testbed.ts';
import type { GuestOptions, TestGuest } from '../../helpers/testbed.ts';

const tag = randomUUID().slice(0, 6);
const NAMES = {
  kill: `vft-test-ag-kill-${tag}`,
  panic: `vft-test-ag-panic-${tag}`,
  off: `vft-test-ag-off-${tag}`,
  loop: `vft-test-ag-loop-${tag}`,
  sched: `vft-test-ag-sched-${tag}`,
};

describe(
  'virt-ft agent recovers real guests',
  { skip: testbedSkipReason, timeout: 600_000 },
  () => {
    let client: LibvirtClient;
    let agent: AgentProcess;
    const doms = new Map<string, Domain>();

    const guests: TestGuest[] = [];

    async function guest(name: string, opts: Partial<GuestOptions> = {}): Promise<Domain> {
      const g = await defineTestGuest(client, { name, ...opts });
      guests.push(g);
      doms.set(name, g.dom);
      await client.domainCreate(g.dom);
      return g.dom;
    }

    async function state(name: string): Promise<string> {
      const d = doms.get(name);
      if (!d) throw new Error(`no domain ${name}`);
      const s = await client.domainGetState(d);
      return `${s.stateName}/${s.reasonName}`;
    }

    const decisionsFor = (name: string, from = 0): LogLine[] =>
      agent.decisions(from).filter((l) => l['domainName'] === name);

    before(async () => {
      client = await LibvirtClient.connect({ uri: requireTestbed().connect });
      agent = await AgentProcess.start({
        config: {
          startupGraceMs: 1_000,
          health: { enabled: false },
          policy: { level: 'off' },
          domains: {
            [NAMES.kill]: { level: 'low' },
            [NAMES.panic]: { level: 'low' },
            [NAMES.off]: { level: 'low' },
            [NAMES.loop]: {
              level: 'high',
              restart: { maxRestarts: 2, backoffBaseMs: 1_000, backoffFactor: 2 },
              snapshots: { intervalMs: 10_000, knownGoodAfterMs: 3_000 },
              checkpoints: { enabled: false },
            },
            [NAMES.sched]: {
              level: 'high',
              snapshots: { intervalMs: 10_000, retain: 2 },
              checkpoints: { intervalMs: 10_000, retain: 2 },
            },
          },
        },
      });
    });

    after(async () => {
      await agent?.cleanup();
      for (const g of guests) await g.remove();
      await client?.close();
    });

    it('QEMU killed with SIGKILL: the VM runs again, and status shows the failure, the decision and the recovery time', async () => {
      await guest(NAMES.kill);
      await agent.waitForLog(
        (l) =>
          l['domainName'] === NAMES.kill &&
          l.msg === 'domain state changed' &&
          (l['to'] as { state?: string } | undefined)?.state === 'Running',
        60_000,
      );
      const from = agent.logs.length;
      process.kill(await qemuPid(NAMES.kill), 'SIGKILL');
      const decision = await agent.waitForLog(
        (l) => l['domainName'] === NAMES.kill && l.msg === 'decision: restart',
        15_000,
        from,
      );
      assert.equal(decision['rule'], 'restart');
      assert.equal(decision['delayMs'], 0);
      await agent.waitForLog(
        (l) =>
          l['decision'] === decision['decision'] &&
          l.msg === 'decision outcome' &&
          l['ok'] === true,
        30_000,
        from,
      );
      await waitFor(async () => (await state(NAMES.kill)).startsWith('Running'), {
        timeoutMs: 30_000,
        what: 'VM running again',
      });
      // virt-ft status --json (the CLI) shows it.
      const vm = await waitFor(
        async () => {
          const r = await runCliProcess(['status', '--state-dir', agent.stateDir, '--json']);
          const st = JSON.parse(r.stdout) as {
            domains: {
              name: string;
              measures: {
                failures: number;
                recoveries: number;
                lastRecoveryMs: number | null;
                lastFailure: { kind: string } | null;
              };
            }[];
            decisions: {
              domain: { name: string };
              action: string;
              rule: string;
              reasons: string[];
              outcome?: { ok: boolean };
            }[];
          };
          const d = st.domains.find((x) => x.name === NAMES.kill);
          return d && d.measures.recoveries >= 1 ? { d, st } : null;
        },
        { timeoutMs: 10_000, what: 'status with the recovery' },
      );
      assert.equal(vm.d.measures.failures, 1);
      assert.equal(vm.d.measures.lastFailure?.kind, 'qemu-died');
      assert.ok(vm.d.measures.lastRecoveryMs !== null && vm.d.measures.lastRecoveryMs > 0);
      const dec = vm.st.decisions.find((x) => x.domain.name === NAMES.kill);
      assert.equal(dec?.action, 'restart');
      assert.equal(dec?.outcome?.ok, true);
      assert.match(dec?.reasons.join(' ') ?? '', /lifecycle Shutoff\/Failed/);
    });

    it('a guest panic: the VM runs again', async () => {
      const from = agent.logs.length;
      await guest(NAMES.panic, { mode: 'panic', after: 2, onCrash: 'preserve' });
      const decision = await agent.waitForLog(
        (l) => l['domainName'] === NAMES.panic && l.msg === 'decision: restart',
        60_000,
        from,
      );
      assert.match(JSON.stringify(decision['reasons']), /Crashed\/Panicked/);
      await agent.waitForLog(
        (l) =>
          l['decision'] === decision['decision'] &&
          l.msg === 'decision outcome' &&
          l['ok'] === true,
        30_000,
        from,
      );
      assert.match(await state(NAMES.panic), /^Running/);
      // It would panic again: take it out of the way.
      await client.domainDestroy(doms.get(NAMES.panic)!);
    });

    it("a guest's own power-off under on-failure: the VM stays off", async () => {
      const from = agent.logs.length;
      await guest(NAMES.off, { mode: 'poweroff', after: 1 });
      await agent.waitForLog(
        (l) =>
          l['domainName'] === NAMES.off &&
          l.msg === 'domain state changed' &&
          (l['to'] as { reason?: string } | undefined)?.reason === 'Shutdown',
        60_000,
        from,
      );
      await new Promise((r) => setTimeout(r, 3_000));
      assert.deepEqual(decisionsFor(NAMES.off, from), []);
      assert.equal(await state(NAMES.off), 'Shutoff/Shutdown');
    });

    it('a crash loop: restart, backoff, revert to the known-good snapshot, then quarantine', async () => {
      const name = NAMES.loop;
      await guest(name);
      // First snapshot 10 s after it runs; known-good 3 s later.
      await agent.waitForLog(
        (l) => l['domainName'] === name && l.msg === 'snapshot is now known-good',
        60_000,
      );
      const from = agent.logs.length;
      const rules: string[] = [];
      for (let i = 0; i < 4; i++) {
        await waitFor(async () => (await state(name)).startsWith('Running'), {
          timeoutMs: 30_000,
          what: `${name} running (round ${i})`,
        });
        const mark = agent.logs.length;
        process.kill(await qemuPid(name), 'SIGKILL');
        const d = await agent.waitForLog(
          (l) =>
            l['domainName'] === name && typeof l.msg === 'string' && l.msg.startsWith('decision:'),
          30_000,
          mark,
        );
        rules.push(String(d['rule']));
        if (d['action'] !== 'quarantine') {
          await agent.waitForLog(
            (l) => l['decision'] === d['decision'] && l.msg === 'decision outcome',
            60_000,
            mark,
          );
        }
      }
      assert.deepEqual(rules, ['restart', 'restart-backoff', 'revert-known-good', 'crash-loop']);
      const backoff = decisionsFor(name, from).find((l) => l['rule'] === 'restart-backoff');
      assert.ok(
        Number(backoff?.['delayMs']) >= 800,
        `backoff delay ${String(backoff?.['delayMs'])}`,
      );
      // Quarantined: left down, no further action.
      await new Promise((r) => setTimeout(r, 2_000));
      assert.match(await state(name), /^Shutoff/);
      const st = await agent.status();
      const vm = st.domains.find((d) => d['name'] === name) as
        { status: string; measures: { reverts: number } } | undefined;
      assert.equal(vm?.status, 'quarantined');
      assert.equal(vm?.measures.reverts, 1);
    });

    it('the high level creates and prunes snapshots and checkpoints on schedule', async () => {
      const name = NAMES.sched;
      const dom = await guest(name);
      // Interval 10 s, retain 2: after three of each, two are left.
      await waitFor(
        () =>
          agent.logs.filter(
            (l) => l['domainUuid'] === dom.uuid && l.msg === 'action snapshot.create succeeded',
          ).length >= 3,
        { timeoutMs: 120_000, what: 'three scheduled snapshots' },
      );
      await waitFor(
        () =>
          agent.logs.filter(
            (l) => l['domainUuid'] === dom.uuid && l.msg === 'action checkpoint.create succeeded',
          ).length >= 3,
        { timeoutMs: 60_000, what: 'three scheduled checkpoints' },
      );
      const snaps = (await client.listAllSnapshots(dom))
        .map((s) => s.name)
        .filter((n) => n.startsWith('vft-'));
      const ckpts = (await client.listAllCheckpoints(dom))
        .map((c) => c.name)
        .filter((n) => n.startsWith('vft-'));
      assert.ok(snaps.length <= 3 && snaps.length >= 2, `snapshots kept: ${snaps.join(', ')}`);
      assert.ok(ckpts.length <= 3 && ckpts.length >= 2, `checkpoints kept: ${ckpts.join(', ')}`);
      const st = await agent.status();
      const vm = st.domains.find((d) => d['name'] === name) as
        { snapshots: { durationMs: number; pausedMs: number; sizeBytes: number }[] } | undefined;
      const s0 = vm?.snapshots[0];
      assert.ok(
        s0 && s0.durationMs > 0 && s0.pausedMs > 0 && s0.sizeBytes > 0,
        JSON.stringify(vm?.snapshots),
      );
    });
  },
);

describe('virt-ft agent configuration', () => {
  it('an invalid config exits 78 naming the path of each problem', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vft-badcfg-'));
    const file = join(dir, 'agent.json');
    await writeFile(
      file,
      JSON.stringify({
        libvirt: { keepaliveCount: 0 },
        policy: { level: 'max', restart: { window: 5 } },
        stream: { listen: 7 },
      }),
    );
    const r = await runCliProcess(['agent', '--config', file]);
    await rm(dir, { recursive: true, force: true });
    assert.equal(r.code, 78);
    assert.match(r.stderr, /^virt-ft: invalid configuration .*agent\.json: 4 problems$/m);
    assert.match(r.stderr, /^ {2}- libvirt\.keepaliveCount: /m);
    assert.match(r.stderr, /^ {2}- policy\.level: /m);
    assert.match(r.stderr, /^ {2}- policy\.restart: Unrecognized key: "window"$/m);
    assert.match(r.stderr, /^ {2}- stream\.listen: /m);
  });
});
