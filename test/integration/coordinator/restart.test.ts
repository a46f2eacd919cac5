// The coordinator killed (SIGKILL) and restarted misses no event and stores none twice (the
// agents' journals are the reference: dense seqs from the first one stored); an agent killed is
// shown unreachable with the time since it was last heard from, then recovers and resumes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCliProcess } from '../../helpers/cli.ts';
import { testbedSkipReason, waitFor } from '../../helpers/testbed.ts';
import type { AgentProcess } from '../../helpers/agent-process.ts';
import { API, Fleet2 } from './bed.ts';
import type { CoordinatorProcess } from './bed.ts';

interface Ev {
  id: number;
  seq: number;
  epoch: string;
  event: { seq: number };
}

/** Every event the coordinator stored for `host`, paged through the API. */
async function allEvents(c: CoordinatorProcess, host: string): Promise<Ev[]> {
  const out: Ev[] = [];
  let after = 0;
  for (;;) {
    const page = (await c.get(`/v1/events?host=${host}&after=${after}&limit=1000`))[
      'events'
    ] as Ev[];
    out.push(...page);
    if (page.length < 1000) return out;
    after = page.at(-1)?.id ?? after;
  }
}

/** Waits until the coordinator has the agent's last journaled seq. */
async function caughtUp(c: CoordinatorProcess, a: AgentProcess): Promise<number> {
  return waitFor(
    async () => {
      const last = (await a.journal()).at(-1)?.seq ?? 0;
      const hosts = (await c.get('/v1/hosts'))['hosts'] as {
        host: string;
        seq: number;
        reachable: boolean;
      }[];
      const h = hosts.find((x) => x.host === a.agentId);
      return h?.reachable && h.seq === last && last > 0 ? last : null;
    },
    { timeoutMs: 60_000, what: `coordinator caught up with ${a.agentId}` },
  );
}

/** Checks the stored seqs against the journal: dense, none missing, none twice. */
async function checkDense(c: CoordinatorProcess, a: AgentProcess): Promise<number> {
  const stored = await allEvents(c, a.agentId);
  const seqs = stored.map((e) => e.seq);
  assert.equal(
    new Set(stored.map((e) => `${e.epoch}/${e.seq}`)).size,
    seqs.length,
    'no event stored twice',
  );
  const first = seqs[0] ?? 0;
  const journal = (await a.journal()).map((e) => e.seq).filter((s) => s >= first);
  assert.deepEqual(seqs, journal, `${a.agentId}: the coordinator's seqs are the journal's`);
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], (seqs[i - 1] ?? 0) + 1, 'dense');
  for (const e of stored) assert.equal(e.event.seq, e.seq);
  return seqs.length;
}

describe(
  'coordinator restarts and unreachable agents',
  { skip: testbedSkipReason, timeout: 300_000 },
  () => {
    const bed = new Fleet2('restart', 1);
    before(async () => {
      await bed.open();
      await bed.reachable();
    });
    after(() => bed.close());

    it('misses no event across a SIGKILL of the coordinator and stores none twice', async () => {
      const dom = await bed.guest(0);
      await bed.client.domainCreate(dom);
      const before = await caughtUp(bed.coord, bed.a);
      await bed.coord.kill('SIGKILL');
      // Events while the coordinator is down: the guest is stopped and started again.
      await bed.client.domainDestroy(dom);
      await bed.client.domainCreate(dom);
      await waitFor(async () => ((await bed.a.journal()).at(-1)?.seq ?? 0) > before + 1, {
        timeoutMs: 30_000,
        what: 'events journaled while the coordinator is down',
      });
      await bed.coord.spawn();
      const resumed = bed.coord.logs.filter(
        (l) => l['msg'] === 'subscribed' && l['mode'] === 'resume',
      );
      const afterA = await caughtUp(bed.coord, bed.a);
      await caughtUp(bed.coord, bed.b);
      assert.ok(afterA > before + 1);
      assert.ok(
        bed.coord.logs.some(
          (l) => l['msg'] === 'subscribed' && l['mode'] === 'resume' && Number(l['replayed']) > 0,
        ),
        `resumed with replayed events: ${JSON.stringify(resumed)}`,
      );
      const n = await checkDense(bed.coord, bed.a);
      assert.ok(n > afterA - before, `${n} events stored`);
      await checkDense(bed.coord, bed.b);
      const m = await bed.coord.get('/v1/metrics');
      assert.equal(m['storeWriteErrors'], 0);
    });

    it('shows a killed agent unreachable with the time since it was heard from, then recovers', async () => {
      await bed.b.kill('SIGKILL');
      const down = await waitFor(
        async () => {
          const hosts = (await bed.coord.get('/v1/hosts'))['hosts'] as Record<string, unknown>[];
          const b = hosts.find((h) => h['host'] === 'vft-b');
          return b && b['reachable'] === false ? b : null;
        },
        { timeoutMs: 30_000, what: 'vft-b unreachable' },
      );
      assert.equal(typeof down['lastHeardAgoMs'], 'number');
      assert.match(String(down['lastHeardAt']), /^\d{4}-\d\d-\d\dT/);
      const text = await runCliProcess([
        'fleet',
        '--coordinator',
        bed.coord.url,
        '--token',
        API.viewer,
      ]);
      assert.match(text.stdout, /^vft-b\s+UNREACHABLE\s+\S+\s+\d+(\.\d)?[smh] ago/m);
      assert.match(text.stdout, /^vft-a\s+yes/m);
      // While b is down the guest changes; b sees it when it re-lists after its restart.
      const dom = await bed.client.lookupDomainByName(bed.names[0] ?? '');
      assert.ok(dom);
      await bed.client.domainDestroy(dom);
      await bed.b.spawn();
      await caughtUp(bed.coord, bed.b);
      await checkDense(bed.coord, bed.b);
      const json = await runCliProcess([
        'fleet',
        '--coordinator',
        bed.coord.url,
        '--token',
        API.viewer,
        '--json',
      ]);
      const hosts = (JSON.parse(json.stdout) as { hosts: { host: string; reachable: boolean }[] })
        .hosts;
      assert.ok(hosts.every((h) => h.reachable));
    });
  },
);
