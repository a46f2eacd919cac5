/**
 * The detectors beyond lifecycle events, and shadow mode, with the real agent on real guests:
 * a hung qemu-guest-agent (missed pings) and a guest watchdog that fires are failures and get
 * the VM restarted; a VM in shadow mode gets its decision recorded and nothing done.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { LibvirtClient } from '../../../agent/libvirt/index.ts';
import type { Domain } from '../../../agent/libvirt/index.ts';
import { qemuPid } from '../../helpers/daemon.ts';
import { AgentProcess } from '../../helpers/agent-process.ts';
import {
  defineTestGuest,
  requireTestbed,
  testbedSkipReason,
  waitFor,
} from '../../helpers/testbed.ts';
import type { GuestOptions, TestGuest } from '../../helpers/testbed.ts';

const tag = randomUUID().slice(0, 6);
const QGA = `vft-test-ag-qga-${tag}`;
const WDOG = `vft-test-ag-wdog-${tag}`;
const SHADOW = `vft-test-ag-shadow-${tag}`;

describe(
  'virt-ft agent detectors and shadow mode',
  { skip: testbedSkipReason, timeout: 300_000 },
  () => {
    let client: LibvirtClient;
    let agent: AgentProcess;
    const guests: TestGuest[] = [];

    async function guest(name: string, opts: Partial<GuestOptions>): Promise<Domain> {
      const g = await defineTestGuest(client, { name, diskMiB: 0, ...opts });
      guests.push(g);
      await client.domainCreate(g.dom);
      return g.dom;
    }

    before(async () => {
      client = await LibvirtClient.connect({ uri: requireTestbed().connect });
      agent = await AgentProcess.start({
        config: {
          startupGraceMs: 1_000,
          health: { enabled: false },
          policy: { level: 'off' },
          domains: {
            [QGA]: {
              level: 'low',
              guestAgent: { intervalMs: 1_000, misses: 3, timeoutSec: 1 },
              restart: { gracefulTimeoutMs: 2_000 },
            },
            [WDOG]: { level: 'low', restart: { gracefulTimeoutMs: 2_000 } },
            [SHADOW]: { level: 'low', shadow: true },
          },
        },
      });
    });

    after(async () => {
      await agent?.cleanup();
      for (const g of guests) await g.remove();
      await client?.close();
    });

    it('a hung guest agent (missed pings) is a failure: the VM is restarted', async () => {
      const from = agent.logs.length;
      const dom = await guest(QGA, { guestAgent: true, agentStopAfter: 4 });
      const d = await agent.waitForLog(
        (l) => l['domainName'] === QGA && l.msg === 'decision: restart',
        90_000,
        from,
      );
      assert.match(JSON.stringify(d['reasons']), /guest-agent: 3 missed pings in a row/);
      await agent.waitForLog(
        (l) => l['decision'] === d['decision'] && l.msg === 'decision outcome' && l['ok'] === true,
        60_000,
        from,
      );
      await waitFor(async () => (await client.domainGetState(dom)).stateName === 'Running', {
        timeoutMs: 30_000,
        what: 'running again',
      });
      await client.domainDestroy(dom); // its agent would hang again
    });

    it('a guest watchdog that fires (action pause) is a failure: the VM is restarted', async () => {
      const from = agent.logs.length;
      const dom = await guest(WDOG, {
        mode: 'watchdog-hang',
        after: 2,
        watchdog: { action: 'pause' },
        watchdogTimeoutS: 2,
      });
      const d = await agent.waitForLog(
        (l) => l['domainName'] === WDOG && l.msg === 'decision: restart',
        120_000,
        from,
      );
      assert.match(JSON.stringify(d['reasons']), /watchdog|Paused\/Watchdog/);
      await agent.waitForLog(
        (l) => l['decision'] === d['decision'] && l.msg === 'decision outcome' && l['ok'] === true,
        60_000,
        from,
      );
      await waitFor(async () => (await client.domainGetState(dom)).stateName === 'Running', {
        timeoutMs: 30_000,
        what: 'running again',
      });
      await client.domainDestroy(dom); // it would hang again
    });

    it('shadow mode records the decision and takes no action', async () => {
      const dom = await guest(SHADOW, {});
      await agent.waitForLog(
        (l) =>
          l['domainName'] === SHADOW &&
          l.msg === 'domain state changed' &&
          (l['to'] as { state?: string } | undefined)?.state === 'Running',
        60_000,
      );
      const from = agent.logs.length;
      process.kill(await qemuPid(SHADOW), 'SIGKILL');
      const d = await agent.waitForLog(
        (l) =>
          l['domainName'] === SHADOW && typeof l.msg === 'string' && l.msg.startsWith('decision'),
        15_000,
        from,
      );
      assert.equal(d.msg, 'decision (shadow, not acted on): restart');
      assert.equal(d['shadow'], true);
      await new Promise((r) => setTimeout(r, 3_000));
      assert.equal((await client.domainGetState(dom)).stateName, 'Shutoff');
      assert.equal(
        agent.logs
          .slice(from)
          .filter((l) => l['domainUuid'] === dom.uuid && l['audit'] === 'action').length,
        0,
      );
    });
  },
);
