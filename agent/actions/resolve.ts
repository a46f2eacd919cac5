/**
 * Resolving an in-flight marker left by a crash: ask libvirt whether the action's effect is
 * there. A create is done when the named snapshot or checkpoint exists and is not older than
 * the attempt; a delete when it is gone; a start when the domain runs, and so on. A restart
 * cannot be told from its end state (the VM may have been running all along), so it is
 * `unknown` with the state reported. Nothing is retried or deleted here.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DomainState } from '../libvirt/index.ts';
import type { CallOptions, Domain, LibvirtClient } from '../libvirt/index.ts';
import type { Marker } from './store.ts';
import type { StateSummary } from './types.ts';
import { parseCheckpointXml, parseSnapshotXml } from './xml.ts';

/** What libvirt says about one marker. */
export interface Resolution {
  readonly outcome: 'succeeded' | 'failed' | 'unknown';
  readonly detail: string;
  readonly state: StateSummary | null;
}

/** Options: the deadline for the whole resolution, and how often to poll a running job. */
export interface ResolveOptions {
  readonly timeoutMs: number;
  readonly pollIntervalMs: number;
}

/** Resolves one marker against libvirt. Throws when libvirt cannot be asked (the marker stays). */
export async function resolveMarker(
  client: LibvirtClient,
  m: Marker,
  o: ResolveOptions,
): Promise<Resolution> {
  const until = performance.now() + o.timeoutMs;
  const call = (): CallOptions => ({
    timeoutMs: Math.max(1, Math.floor(until - performance.now())),
  });
  const dom = await client.lookupDomainByUuid(m.domain.uuid, call());
  if (!dom)
    return { outcome: 'unknown', detail: `domain ${m.domain.uuid} no longer exists`, state: null };
  // A snapshot job outlives the client that asked for it: let it finish before judging.
  await waitForJobs(client, dom, until, o.pollIntervalMs, call);
  const s = await client.domainGetState(dom, call());
  const state: StateSummary = { state: s.stateName, reason: s.reasonName };
  const is = (ok: boolean, what: string): Resolution => ({
    outcome: ok ? 'succeeded' : 'failed',
    detail: what,
    state,
  });
  const notBefore = Math.floor(m.startedAt / 1000) - 1; // creationTime has 1 s resolution
  const name = m.name ?? m.params.name ?? null;
  switch (m.kind) {
    case 'snapshot.create': {
      const snap = name === null ? null : await client.snapshotLookupByName(dom, name, call());
      if (!snap)
        return is(false, `snapshot ${String(name)} does not exist: the create did not happen`);
      const t = parseSnapshotXml(await client.snapshotGetXmlDesc(snap, 0, call())).creationTime;
      return is(
        t >= notBefore,
        t >= notBefore
          ? `snapshot ${String(name)} exists: the create completed`
          : `snapshot ${String(name)} predates the attempt`,
      );
    }
    case 'checkpoint.create': {
      const ck = name === null ? null : await client.checkpointLookupByName(dom, name, call());
      if (!ck)
        return is(false, `checkpoint ${String(name)} does not exist: the create did not happen`);
      const t = parseCheckpointXml(await client.checkpointGetXmlDesc(ck, 0, call())).creationTime;
      return is(
        t >= notBefore,
        t >= notBefore
          ? `checkpoint ${String(name)} exists: the create completed`
          : `checkpoint ${String(name)} predates the attempt`,
      );
    }
    case 'snapshot.delete':
    case 'checkpoint.delete': {
      if (m.params.name === undefined)
        return {
          outcome: 'unknown',
          detail: 'an interrupted retention prune: run it again to finish',
          state,
        };
      const what = m.kind === 'snapshot.delete' ? 'snapshot' : 'checkpoint';
      const found =
        m.kind === 'snapshot.delete'
          ? await client.snapshotLookupByName(dom, m.params.name, call())
          : await client.checkpointLookupByName(dom, m.params.name, call());
      return is(
        found === null,
        found === null
          ? `${what} ${m.params.name} is gone: the delete completed`
          : `${what} ${m.params.name} still exists: the delete did not happen`,
      );
    }
    case 'snapshot.revert': {
      const current = (await client.snapshotCurrent(dom, call()))?.name ?? null;
      if (
        current === m.params.name &&
        s.state === DomainState.RUNNING &&
        s.reasonName === 'FromSnapshot'
      ) {
        return is(true, `running from snapshot ${m.params.name}: the revert completed`);
      }
      return {
        outcome: 'unknown',
        detail: `half-done revert to ${String(m.params.name)}: the domain is ${state.state} (${state.reason}), current snapshot ${String(current)}`,
        state,
      };
    }
    case 'domain.restart':
      return {
        outcome: 'unknown',
        detail: `half-done restart: the domain is ${state.state} (${state.reason})`,
        state,
      };
    case 'domain.start':
      return is(s.state !== DomainState.SHUTOFF, `the domain is ${state.state} (${state.reason})`);
    case 'domain.shutdown':
    case 'domain.destroy':
      return is(s.state === DomainState.SHUTOFF, `the domain is ${state.state} (${state.reason})`);
    case 'domain.suspend':
      return is(s.state === DomainState.PAUSED, `the domain is ${state.state} (${state.reason})`);
    case 'domain.resume':
      return is(s.state === DomainState.RUNNING, `the domain is ${state.state} (${state.reason})`);
    case 'domain.managed-save': {
      const saved =
        s.state === DomainState.SHUTOFF && (await client.domainHasManagedSaveImage(dom, call()));
      return is(
        saved,
        `the domain is ${state.state} (${state.reason})${saved ? ' with a managed-save image' : ''}`,
      );
    }
    case 'snapshot.list':
    case 'checkpoint.list':
      return is(true, 'a read-only action: nothing to resolve');
  }
}

async function waitForJobs(
  client: LibvirtClient,
  dom: Domain,
  until: number,
  pollMs: number,
  call: () => CallOptions,
): Promise<void> {
  for (;;) {
    const job = await client.domainGetJobInfo(dom, call()).catch(() => null);
    // 0 NONE, 3 COMPLETED, 4 FAILED, 5 CANCELLED: no job running.
    if (job === null || job.type === 0 || job.type >= 3) return;
    if (performance.now() + pollMs >= until) return;
    await sleep(pollMs);
  }
}
