/**
 * The coordinator's composition root: the event store, the fleet, one link per configured
 * agent (resuming from the stored cursors), the admin API and its live tail. `start()` in that
 * order; `close()` in reverse: API, links, a last flush and checkpoint, the store.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CoordinatorConfig } from './config.ts';
import { Fleet } from './fleet/fleet.ts';
import { ApiAuth, loadApiTokens } from './api/auth.ts';
import { ApiServer } from './api/server.ts';
import { WatchHub } from './api/watch.ts';
import { AgentLink } from './link/agent-link.ts';
import { makeDialer } from './link/connect.ts';
import { MemoryStore } from './store/memory.ts';
import type { EventStore } from './store/types.ts';

/** Opens the configured store (SQLite is loaded only here, lazily). */
export async function openStore(c: CoordinatorConfig): Promise<EventStore> {
  if (c.store.kind === 'memory') return new MemoryStore();
  const { SqliteStore } = await import('./store/sqlite.ts');
  return new SqliteStore(c.store.path ?? join(c.stateDir, 'events.db'));
}

/** The coordinator daemon: `start()`, then `close()` (idempotent). */
export class Coordinator {
  readonly config: CoordinatorConfig;
  readonly links = new Map<string, AgentLink>();
  #log: Logger;
  #store: EventStore | null = null;
  #fleet: Fleet | null = null;
  #api: ApiServer | null = null;
  #sweeper: NodeJS.Timeout | null = null;
  #closing: Promise<void> | null = null;

  constructor(config: CoordinatorConfig, log: Logger) {
    this.config = config;
    this.#log = log.child({ coordinator: config.coordinatorId });
  }

  get fleet(): Fleet {
    if (!this.#fleet) throw new Error('the coordinator is not started');
    return this.#fleet;
  }

  get store(): EventStore {
    if (!this.#store) throw new Error('the coordinator is not started');
    return this.#store;
  }

  /** The admin API's base URL once listening. */
  get url(): string | null {
    return this.#api?.url ?? null;
  }

  async start(): Promise<void> {
    const c = this.config;
    const tokens = await loadApiTokens(c.api);
    const dialers = await Promise.all(c.agents.map((a) => makeDialer(a, c.connectTimeoutMs)));
    const store = await openStore(c);
    this.#store = store;
    const fleet = new Fleet(
      store,
      this.#log,
      c.agents.map((a) => a.id),
    );
    this.#fleet = fleet;
    const cursors = fleet.restore();
    c.agents.forEach((a, i) => {
      const dialer = dialers[i];
      if (!dialer) return;
      this.links.set(
        a.id,
        new AgentLink({
          host: a.id,
          dialer,
          sink: fleet,
          log: this.#log,
          backoff: c.reconnect,
          pingIntervalMs: c.pingIntervalMs,
          cursor: cursors.get(a.id) ?? null,
        }),
      );
    });
    fleet.onNeedPolicy = (host) => {
      this.links.get(host)?.refresher.request();
    };
    fleet.onWriteError = (hosts) => {
      const now = store.cursors();
      for (const h of hosts) this.links.get(h)?.resync(now.get(h) ?? null);
    };
    const watch = new WatchHub({ fleet, links: this.links, store, maxBytes: c.api.maxBodyBytes });
    const api = new ApiServer({
      config: c.api,
      fleet,
      links: this.links,
      store,
      auth: new ApiAuth(c.api, tokens),
      log: this.#log,
      watch,
      coordinatorId: c.coordinatorId,
      startedMs: Date.now(),
    });
    await api.start();
    this.#api = api;
    for (const l of this.links.values()) l.start();
    this.#sweeper = setInterval(() => {
      this.#sweep();
    }, c.store.sweepIntervalMs);
    this.#sweeper.unref();
    this.#log.info(
      { agents: c.agents.length, store: store.kind, resumed: cursors.size, url: api.url },
      'coordinator started',
    );
  }

  /** Stops everything; idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#sweeper) clearInterval(this.#sweeper);
      await this.#api?.close();
      await Promise.all([...this.links.values()].map((l) => l.close()));
      this.#fleet?.checkpoint();
      this.#store?.close();
      this.#log.info('coordinator stopped');
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #sweep(): void {
    try {
      this.#fleet?.checkpoint();
      const n = this.#store?.sweep(this.config.store, Date.now()) ?? 0;
      if (n > 0) this.#log.info({ deleted: n }, 'event retention sweep');
    } catch (err) {
      this.#log.error({ err }, 'event retention sweep failed');
    }
  }
}
