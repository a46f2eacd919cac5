import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AgentConfig } from './config/schema.ts';
import { HostHealth } from './health/host-health.ts';
import type { HealthReport } from './health/report.ts';
import type { Risk } from './health/risk.ts';
import type { Domain, DomainEvent, LibvirtClient, OpenOptions } from './libvirt/index.ts';
import {
  MetadataType,
  ModificationImpact,
  stateName,
  stateReasonName,
  StatsFlags,
  StatsTypes,
} from './libvirt/index.ts';
import { AgentError, ErrorCode } from '../shared/errors.ts';
import { MissCounter, pingGuestAgent } from './monitor/guest-agent.ts';
import { probeControl } from './monitor/control-probe.ts';
import { POLICY_NS, POLICY_NS_PREFIX, policyMetadataXml } from './policy/metadata.ts';
import { PolicyOverrideSchema, resolvePolicy } from './policy/schema.ts';
import type { Policy, PolicyOverride } from './policy/schema.ts';
import { readDomainInfo } from './runtime/domain-info.ts';
import type { DomainInfo } from './runtime/domain-info.ts';
import type { ExecutorPort } from './runtime/executor-port.ts';
import { RecoveryManager } from './runtime/recovery.ts';
import { Scheduler } from './runtime/scheduler.ts';
import { writeJsonAtomic } from './state/atomic-file.ts';
import { AgentStore } from './state/store.ts';
import type { DecisionRecord } from './state/store.ts';
import { buildStatus } from './status.ts';
import type { AgentStatus } from './status.ts';
import { LibvirtSession } from './supervisor/libvirt-session.ts';
import type { SessionItem } from './supervisor/libvirt-session.ts';
import { StreamServer } from './stream/server.ts';
import { DomainTracker } from './tracker/domain-tracker.ts';
import type { Transition } from './tracker/domain-tracker.ts';
import { toJson } from './commands/output.ts';

/** Builds the action executor once the agent knows its action connection and state dir. */
export type ExecutorFactory = (deps: {
  client: () => LibvirtClient | null;
  stateDir: string;
  log: Logger;
  actionTimeoutMs: number;
}) => ExecutorPort & { recover(): Promise<unknown>; close(timeoutMs?: number): Promise<unknown> };

/** Something that wants every status-relevant change (the stream server). */
export interface AgentListener {
  onTransition?(t: Transition): void;
  onDecision?(d: DecisionRecord): void;
  onEvent?(e: DomainEvent): void;
  onSession?(item: Extract<SessionItem, { event: 'session' }>): void;
  onHealth?(report: HealthReport): void;
}

const TICK_MS = 1_000;
const STATUS_EVERY_MS = 2_000;

/**
 * The agent daemon: watches every domain through a supervised libvirt session, detects
 * failures, decides by policy, recovers through the action executor, takes the high level's
 * snapshots and checkpoints, reads host health, and keeps its state and a status file in the
 * state directory. `close()` stops it in reverse order.
 */
export class Agent {
  readonly config: AgentConfig;
  readonly log: Logger;
  readonly agentId: string;
  readonly startedAt = Date.now();
  /** virt-ft's version, for the stream's hello. */
  readonly version: string;
  readonly #makeExecutor: ExecutorFactory;
  readonly tracker = new DomainTracker();
  readonly #info = new Map<string, DomainInfo>();
  readonly #policies = new Map<string, Policy>();
  readonly #misses = new MissCounter();
  readonly #nextPing = new Map<string, number>();
  readonly #stats = new Map<string, Record<string, unknown>>();
  readonly #listeners = new Set<AgentListener>();
  #store!: AgentStore;
  #executor!: ReturnType<ExecutorFactory>;
  #recovery!: RecoveryManager;
  #scheduler!: Scheduler;
  #monitor!: LibvirtSession;
  #probe!: LibvirtSession;
  #actions!: LibvirtSession;
  #stream: StreamServer | null = null;
  #health: HostHealth | null = null;
  #healthReport: HealthReport | null = null;
  #timers: NodeJS.Timeout[] = [];
  #loop: Promise<void> | null = null;
  #closing: Promise<void> | null = null;
  #connected = false;
  #lastStatusJson = '';

  constructor(
    config: AgentConfig,
    log: Logger,
    makeExecutor: ExecutorFactory,
    version = 'unknown',
  ) {
    this.version = version;
    this.config = config;
    this.log = log;
    this.agentId = config.agentId ?? hostname();
    this.#makeExecutor = makeExecutor;
  }

  get store(): AgentStore {
    return this.#store;
  }

  addListener(l: AgentListener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  #emit<K extends keyof AgentListener>(
    k: K,
    arg: Parameters<NonNullable<AgentListener[K]>>[0],
  ): void {
    for (const l of this.#listeners) {
      try {
        (l[k] as ((a: typeof arg) => void) | undefined)?.(arg);
      } catch (err) {
        this.log.error({ err }, 'status listener failed');
      }
    }
  }

  /** Opens state, connects to libvirt, resolves interrupted actions, starts every loop. */
  async start(): Promise<void> {
    const c = this.config;
    this.#store = await AgentStore.open(c.stateDir, this.log.child({ component: 'state' }));
    // What we last knew, so a change while the agent was down is seen (late) at the first listing.
    this.tracker.seed(
      this.#store.records().flatMap((r) =>
        r.lastState
          ? [
              {
                uuid: r.uuid,
                name: r.name,
                state: r.lastState.state,
                reason: r.lastState.reason,
                since: r.lastState.at,
              },
            ]
          : [],
      ),
    );
    const open: OpenOptions = {
      uri: c.libvirt.uri,
      callTimeoutMs: c.libvirt.callTimeoutMs,
      keepaliveIntervalMs: c.libvirt.keepaliveIntervalMs,
      keepaliveCount: c.libvirt.keepaliveCount,
    };
    this.#actions = new LibvirtSession({ open, events: [] });
    this.#probe = new LibvirtSession({ open, events: [] });
    this.#executor = this.#makeExecutor({
      client: () => this.#actions.client,
      stateDir: c.stateDir,
      log: this.log, // the executor adds its own component
      actionTimeoutMs: c.libvirt.actionTimeoutMs,
    });
    const policyOf = (uuid: string, name: string): Policy => this.policyOf(uuid, name);
    this.#recovery = new RecoveryManager({
      config: c,
      store: this.#store,
      tracker: this.tracker,
      executor: this.#executor,
      policyOf,
      currentState: (uuid) => this.#currentState(uuid),
      log: this.log.child({ component: 'policy' }),
      onDecision: (d) => {
        this.#emit('onDecision', d);
      },
    });
    this.#scheduler = new Scheduler({
      store: this.#store,
      tracker: this.tracker,
      executor: this.#executor,
      policyOf,
      hostRisk: () => this.hostRisk(),
      cadence: { warning: c.host.riskWarningCadence, failing: c.host.riskFailingCadence },
      recovering: (uuid) => this.#recovery.pending().some((p) => p.uuid === uuid),
      shadow: c.shadow,
      retentionMs: c.retentionMs,
      log: this.log.child({ component: 'scheduler' }),
    });
    this.#monitor = new LibvirtSession({
      open,
      onConnected: (client, { reconnect }) => this.#resync(client, reconnect),
      onRetry: (err, delayMs) => {
        this.log.warn({ err, delayMs }, 'libvirt not reachable yet: retrying');
      },
    });
    const retry = { retry: true };
    await Promise.all([
      this.#monitor.start(retry),
      this.#actions.start(retry),
      this.#probe.start(retry),
    ]);
    this.#connected = true;
    const recovered = await this.#executor.recover();
    this.log.info({ recovered }, 'interrupted actions resolved');
    if (c.health.enabled) {
      this.#health = new HostHealth(
        { ...c.health, stateDir: c.health.stateDir ?? c.stateDir },
        {
          log: this.log.child({ component: 'health' }),
          listDomainXml: () => this.#listDomainXml(),
        },
      );
      void this.#checkHealth();
      this.#every(c.health.intervalMs, () => this.#checkHealth());
    }
    this.#loop = this.#consume();
    this.#every(TICK_MS, () => this.#tick());
    this.#every(c.libvirt.statsIntervalMs, () => this.#probeAll());
    this.#every(STATUS_EVERY_MS, () => this.#writeStatus());
    if (c.stream.listen !== null) {
      this.#stream = new StreamServer({
        agent: this,
        config: c.stream,
        stateDir: join(c.stateDir, 'stream'),
        log: this.log, // the server adds its own component
        agentVersion: this.version,
      });
      await this.#stream.start();
    }
    this.log.info(
      {
        agentId: this.agentId,
        uri: c.libvirt.uri,
        domains: this.tracker.size,
        graceMs: c.startupGraceMs,
        shadow: c.shadow,
      },
      'virt-ft agent started',
    );
  }

  /** Stops in reverse order, within `deadlineMs`; state is flushed. Idempotent. */
  close(deadlineMs = 20_000): Promise<void> {
    this.#closing ??= (async () => {
      // Stream clients first, then the policy loops, the executor, libvirt, and state last.
      await this.#stream?.close();
      for (const t of this.#timers) clearInterval(t);
      this.#timers = [];
      const deadline = new Promise<void>((r) => setTimeout(r, deadlineMs).unref());
      await Promise.race([this.#executor.close(), deadline]);
      await Promise.allSettled([this.#monitor.close(), this.#probe.close(), this.#actions.close()]);
      await this.#loop;
      await this.#writeStatus();
      await this.#store.close();
      this.log.info('virt-ft agent stopped');
    })();
    return this.#closing;
  }

  /** The effective policy: config default ← config per name ← per UUID ← VM metadata. */
  policyOf(uuid: string, name: string): Policy {
    let p = this.#policies.get(uuid);
    if (!p) {
      const c = this.config;
      p = resolvePolicy(
        c.policy,
        c.domains[name],
        c.domains[uuid],
        this.#info.get(uuid)?.metadataPolicy,
      );
      this.#policies.set(uuid, p);
    }
    return p;
  }

  /**
   * Sets a VM's policy by writing it into the VM's own libvirt metadata (live and persistent
   * config), so it travels with the VM; `null` removes it. Validated by the same schema.
   */
  async setPolicy(uuid: string, override: PolicyOverride | null): Promise<Policy> {
    const client = this.#actions.client;
    if (!client)
      throw new AgentError(
        ErrorCode.ACTION_FAILED,
        'Cannot set the policy: libvirt is not connected',
      );
    const dom = await client.lookupDomainByUuid(uuid, {
      timeoutMs: this.config.libvirt.callTimeoutMs,
    });
    if (!dom)
      throw new AgentError(
        ErrorCode.ACTION_INVALID,
        `Cannot set the policy: no domain with UUID ${uuid}`,
      );
    const checked = override === null ? null : PolicyOverrideSchema.parse(override);
    const persistent = await client.domainIsPersistent(dom);
    const active = await client.domainIsActive(dom);
    const flags =
      (active ? ModificationImpact.LIVE : 0) | (persistent ? ModificationImpact.CONFIG : 0);
    await client.domainSetMetadata(
      dom,
      {
        type: MetadataType.ELEMENT,
        metadata: checked ? policyMetadataXml(checked) : null,
        key: POLICY_NS_PREFIX,
        uri: POLICY_NS,
        flags,
      },
      { timeoutMs: this.config.libvirt.callTimeoutMs },
    );
    await this.#refreshInfo(dom);
    return this.policyOf(dom.uuid, dom.name);
  }

  hostRisk(): Risk {
    return this.#healthReport?.host.risk ?? 'unknown';
  }

  /** Runs an admin action through the same executor the policy uses. */
  get executor(): ReturnType<ExecutorFactory> {
    return this.#executor;
  }

  /** The full status (what `virt-ft status` and the stream's snapshot show). */
  status(): AgentStatus {
    return buildStatus({
      agentId: this.agentId,
      startedAt: this.startedAt,
      config: this.config,
      connected: this.#connected && this.#monitor.client !== null,
      tracker: this.tracker,
      store: this.#store,
      info: this.#info,
      policyOf: (u, n) => this.policyOf(u, n),
      stats: this.#stats,
      health: this.#healthReport,
      pending: this.#recovery.pending(),
      inGrace: this.#recovery.inGrace,
      incident: this.#recovery.hostContext().incident,
    });
  }

  #every(ms: number, fn: () => unknown): void {
    const t = setInterval(() => {
      Promise.resolve()
        .then(fn)
        .catch((err: unknown) => {
          this.log.error({ err }, 'periodic task failed');
        });
    }, ms);
    this.#timers.push(t);
  }

  async #consume(): Promise<void> {
    for await (const item of this.#monitor) {
      try {
        await this.#handle(item);
      } catch (err) {
        this.log.error({ err, item: item.event }, 'cannot handle libvirt event');
      }
    }
  }

  async #handle(item: SessionItem): Promise<void> {
    if (item.event === 'session') {
      this.#emit('onSession', item);
      if (item.state === 'disconnected') {
        this.tracker.markUnknown(null, `libvirt connection lost: ${item.message}`);
        this.log.warn(
          { reason: item.reason, message: item.message },
          'libvirt connection lost: every VM is unknown until it is back',
        );
      } else if (item.state === 'connected' && item.reconnect) {
        this.log.info(
          { handshakeMs: item.handshakeMs },
          'libvirt connection back: domains re-listed',
        );
      }
      return;
    }
    if (item.event === 'gap') {
      this.log.warn({ dropped: item.dropped }, 'events dropped: re-listing domains');
      const client = this.#monitor.client;
      if (client) await this.#resync(client, true);
      return;
    }
    this.#emit('onEvent', item);
    const uuid = item.domain.uuid;
    switch (item.event) {
      case 'lifecycle': {
        if (item.type === 'Defined' || item.type === 'Started')
          await this.#refreshInfo(item.domain);
        if (item.type === 'Started') this.#misses.reset(uuid);
        const t = this.tracker.applyEvent(item);
        if (t) await this.#onTransition(t);
        return;
      }
      case 'metadata-change':
        if (item.nsUri === POLICY_NS || item.nsUri === null) await this.#refreshInfo(item.domain);
        return;
      case 'agent-lifecycle':
        if (item.type === 'Connected') this.#misses.arm(uuid);
        return;
      case 'watchdog':
        await this.#recovery.onEvent(item);
        return;
      default:
        return;
    }
  }

  async #onTransition(t: Transition): Promise<void> {
    this.#emit('onTransition', t);
    this.log.info(
      {
        domainUuid: t.uuid,
        domainName: t.name,
        from: t.from,
        to: t.to,
        late: t.late,
        source: t.source,
      },
      t.late ? 'domain state changed during a gap (seen late)' : 'domain state changed',
    );
    if (!t.to) {
      this.#info.delete(t.uuid);
      this.#policies.delete(t.uuid);
    }
    await this.#recovery.onTransition(t);
  }

  /** After every (re)connection: re-list everything, diff against what we knew. */
  async #resync(client: LibvirtClient, reconnect: boolean): Promise<void> {
    const timeoutMs = this.config.libvirt.callTimeoutMs;
    const doms = await client.listAllDomains(0, { timeoutMs });
    const list = await Promise.all(
      doms.map(async (d) => {
        const [st] = await Promise.all([
          client.domainGetState(d, { timeoutMs }),
          this.#refreshInfo(d, client),
        ]);
        return { domain: d, state: st.stateName, reason: st.reasonName };
      }),
    );
    const first = !reconnect && this.#store.records().every((r) => r.lastState === null);
    const transitions = this.tracker.resync(list, first);
    for (const v of this.tracker.all()) {
      const rec = this.#store.record(v.uuid, v.name);
      if (v.state === 'Running' && rec.upSince === null) rec.upSince = Date.now();
      rec.lastState = { state: v.state, reason: v.reason, at: Date.now() };
    }
    this.#store.markDirty();
    for (const t of transitions) await this.#onTransition(t);
  }

  async #refreshInfo(
    d: Domain,
    client: LibvirtClient | null = this.#monitor.client,
  ): Promise<void> {
    if (!client) return;
    try {
      const info = await readDomainInfo(client, d, this.config.libvirt.callTimeoutMs);
      if (info.metadataError) {
        this.log.warn(
          { domainUuid: d.uuid, domainName: d.name, error: info.metadataError },
          'policy metadata ignored',
        );
      }
      this.#info.set(d.uuid, info);
      this.#policies.delete(d.uuid);
    } catch (err) {
      if ((err as { virCode?: number }).virCode !== 42) {
        this.log.warn({ err, domainUuid: d.uuid }, 'cannot read domain XML or metadata');
      }
    }
  }

  async #currentState(uuid: string): Promise<{ state: string; reason: string } | null> {
    const client = this.#monitor.client;
    if (!client) return null;
    try {
      const dom = await client.lookupDomainByUuid(uuid, {
        timeoutMs: this.config.libvirt.monitorTimeoutMs,
      });
      if (!dom) return null;
      const st = await client.domainGetState(dom, {
        timeoutMs: this.config.libvirt.monitorTimeoutMs,
      });
      return { state: st.stateName, reason: st.reasonName };
    } catch {
      return null;
    }
  }

  async #tick(): Promise<void> {
    await this.#recovery.tick();
    this.#recovery.refreshIncident();
    if (!this.#recovery.inGrace) this.#scheduler.tick();
    await this.#pingGuestAgents();
  }

  async #pingGuestAgents(): Promise<void> {
    const client = this.#probe.client;
    if (!client) return;
    const now = Date.now();
    const jobs: Promise<void>[] = [];
    for (const v of this.tracker.all()) {
      if (v.state !== 'Running' || !this.#info.get(v.uuid)?.hasGuestAgent) continue;
      const p = this.policyOf(v.uuid, v.name);
      if (p.level === 'off' || !p.guestAgent.enabled) continue;
      if ((this.#nextPing.get(v.uuid) ?? 0) > now) continue;
      this.#nextPing.set(v.uuid, now + p.guestAgent.intervalMs);
      jobs.push(
        (async () => {
          const r = await pingGuestAgent(
            client,
            { uuid: v.uuid, name: v.name, id: -1 },
            p.guestAgent.timeoutSec,
          );
          const misses = this.#misses.record(v.uuid, r);
          if (misses >= p.guestAgent.misses) {
            this.#misses.reset(v.uuid);
            await this.#recovery.onFailure({
              kind: 'guest-agent',
              uuid: v.uuid,
              name: v.name,
              at: Date.now(),
              late: false,
              signal: `guest-agent: ${misses} missed pings in a row (every ${p.guestAgent.intervalMs} ms, ${p.guestAgent.timeoutSec} s each): ${r.ok ? '' : r.why}`,
            });
          }
        })(),
      );
    }
    await Promise.allSettled(jobs);
  }

  /** Control-info probe per running VM (unknown detection) and bulk stats for the measures. */
  async #probeAll(): Promise<void> {
    const client = this.#monitor.client;
    if (!client) return;
    const { monitorTimeoutMs, callTimeoutMs } = this.config.libvirt;
    await Promise.all(
      this.tracker.all().map(async (v) => {
        if (v.state !== 'Running' && v.state !== 'Paused' && v.state !== 'unknown') return;
        const dom = { uuid: v.uuid, name: v.name, id: -1 };
        const verdict = await probeControl(client, dom, monitorTimeoutMs, callTimeoutMs);
        if (!verdict.ok) {
          if (v.state !== 'unknown')
            this.log.warn(
              { domainUuid: v.uuid, domainName: v.name, why: verdict.why },
              'VM state unknown',
            );
          this.tracker.markUnknown(v.uuid, verdict.why);
          return;
        }
        if (v.state === 'unknown') {
          const st = await client
            .domainGetState(dom, { timeoutMs: callTimeoutMs })
            .catch(() => null);
          if (!st) return;
          const t = this.tracker.setKnown(
            dom,
            stateName(st.state),
            stateReasonName(st.state, st.reason),
          );
          this.log.info({ domainUuid: v.uuid, domainName: v.name }, 'VM answers again');
          if (t) await this.#onTransition(t);
        }
      }),
    );
    try {
      const recs = await client.getAllDomainStats(
        {
          stats: StatsTypes.STATE | StatsTypes.CPU_TOTAL | StatsTypes.BALLOON | StatsTypes.BLOCK,
          flags: StatsFlags.NOWAIT,
        },
        { timeoutMs: callTimeoutMs },
      );
      for (const r of recs) this.#stats.set(r.domain.uuid, { ...r.params, at: Date.now() });
    } catch (err) {
      this.log.debug({ err }, 'bulk stats failed');
    }
  }

  async #listDomainXml(): Promise<{ name: string; uuid: string; xml: string }[]> {
    const client = this.#monitor.client;
    if (!client) throw new Error('libvirt is not connected');
    const doms = await client.listAllDomains();
    return Promise.all(
      doms.map(async (d) => ({
        name: d.name,
        uuid: d.uuid,
        xml: await client.domainGetXmlDesc(d),
      })),
    );
  }

  async #checkHealth(): Promise<void> {
    if (!this.#health) return;
    try {
      this.#healthReport = await this.#health.check(AbortSignal.timeout(120_000));
      this.#emit('onHealth', this.#healthReport);
    } catch (err) {
      this.log.warn({ err }, 'health check failed');
    }
  }

  async #writeStatus(): Promise<void> {
    const json = toJson(this.status(), 2);
    // Only the status, not its timestamp, decides whether to write.
    const key = json.replace(/"generatedAt": "[^"]*"/, '');
    if (key === this.#lastStatusJson) return;
    this.#lastStatusJson = key;
    await writeJsonAtomic(join(this.config.stateDir, 'status.json'), JSON.parse(json));
  }
}
