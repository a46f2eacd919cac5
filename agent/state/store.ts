import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Decision } from '../policy/engine.ts';
import type { FailureKind } from '../policy/detect.ts';
import type { DomainRecord } from '../policy/records.ts';
import { newRecord } from '../policy/records.ts';
import { readJsonFile, writeJsonAtomic } from './atomic-file.ts';

/** One automatic decision, as recorded before its action runs. */
export interface DecisionRecord extends Decision {
  readonly id: string;
  readonly at: number;
  readonly domain: { readonly uuid: string; readonly name: string };
  readonly failure: {
    readonly kind: FailureKind;
    readonly signal: string;
    readonly late: boolean;
    readonly at: number;
  } | null;
  readonly shadow: boolean;
  /** Filled in when the action finished. */
  outcome?: { readonly ok: boolean; readonly at: number; readonly message: string };
}

/** Host-wide state: recent failures (for host incidents) and the incident in progress. */
export interface HostRecord {
  /** Recent failures on this host, with the VM, oldest first. */
  failures: { readonly at: number; readonly uuid: string }[];
  incident: { readonly since: number; failures: number } | null;
  lastAutoRestartAt: number | null;
}

interface Logger {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

const FILE_VERSION = 1;
const MAX_DECISIONS = 1000;

/**
 * The agent's durable state in its state directory: per-VM records (restart counts, backoff,
 * known-good snapshots, measures), the host record, and the decision log. Every write is
 * atomic (temp file, fsync, rename), so a SIGKILL leaves the old or the new state, never a torn
 * one. A file that cannot be read is moved aside (`*.corrupt-<time>`) and the agent starts
 * fresh rather than refusing to run.
 */
export class AgentStore {
  readonly dir: string;
  readonly #log: Logger;
  readonly #records = new Map<string, DomainRecord>();
  #host: HostRecord = { failures: [], incident: null, lastAutoRestartAt: null };
  #decisions: DecisionRecord[] = [];
  #dirty = false;
  #flushing: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;

  private constructor(dir: string, log: Logger) {
    this.dir = dir;
    this.#log = log;
  }

  static async open(dir: string, log: Logger): Promise<AgentStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const s = new AgentStore(dir, log);
    const domains = await s.#load('domains.json');
    if (domains && Array.isArray(domains['records'])) {
      for (const r of domains['records'] as DomainRecord[]) {
        if (typeof r.uuid === 'string')
          s.#records.set(r.uuid, { ...newRecord(r.uuid, r.name), ...r });
      }
    }
    const host = await s.#load('host.json');
    if (host && typeof host['host'] === 'object' && host['host'] !== null)
      s.#host = { ...s.#host, ...(host['host'] as HostRecord) };
    const dec = await s.#load('decisions.json');
    if (dec && Array.isArray(dec['decisions'])) s.#decisions = dec['decisions'] as DecisionRecord[];
    return s;
  }

  async #load(name: string): Promise<Record<string, unknown> | null> {
    const path = join(this.dir, name);
    try {
      const v = await readJsonFile(path, null);
      if (v === null) return null;
      if (typeof v !== 'object' || (v as { version?: unknown }).version !== FILE_VERSION) {
        throw new Error(`unexpected content or version in ${path}`);
      }
      return v as Record<string, unknown>;
    } catch (err) {
      const aside = `${path}.corrupt-${Date.now()}`;
      await rename(path, aside).catch(() => undefined);
      this.#log.error(
        { err, file: path, movedTo: aside },
        'state file unreadable: moved aside, starting fresh',
      );
      return null;
    }
  }

  get host(): HostRecord {
    return this.#host;
  }

  /** The record of a VM, created on first use. */
  record(uuid: string, name: string): DomainRecord {
    let r = this.#records.get(uuid);
    if (!r) {
      r = newRecord(uuid, name);
      this.#records.set(uuid, r);
      this.markDirty();
    } else if (r.name !== name && name) {
      r.name = name;
      this.markDirty();
    }
    return r;
  }

  peek(uuid: string): DomainRecord | undefined {
    return this.#records.get(uuid);
  }

  records(): DomainRecord[] {
    return [...this.#records.values()];
  }

  remove(uuid: string): void {
    if (this.#records.delete(uuid)) this.markDirty();
  }

  decisions(limit = 50): DecisionRecord[] {
    return this.#decisions.slice(-limit);
  }

  /** Appends a decision and persists it (and everything dirty) before returning. */
  async recordDecision(d: DecisionRecord): Promise<void> {
    this.#decisions.push(d);
    if (this.#decisions.length > MAX_DECISIONS)
      this.#decisions.splice(0, this.#decisions.length - MAX_DECISIONS);
    this.#dirty = true;
    await this.flush();
  }

  /** Schedules a save soon (coalesced). */
  markDirty(): void {
    this.#dirty = true;
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.flush().catch((err: unknown) => {
        this.#log.error({ err }, 'cannot save agent state');
      });
    }, 250);
    this.#timer.unref();
  }

  /** Writes everything dirty now; concurrent callers share one write, then write again if needed. */
  async flush(): Promise<void> {
    while (this.#dirty) {
      if (this.#flushing) {
        await this.#flushing;
        continue;
      }
      this.#dirty = false;
      this.#flushing = this.#writeAll().finally(() => {
        this.#flushing = null;
      });
      await this.#flushing;
    }
    if (this.#flushing) await this.#flushing;
  }

  async #writeAll(): Promise<void> {
    await writeJsonAtomic(join(this.dir, 'domains.json'), {
      version: FILE_VERSION,
      records: [...this.#records.values()],
    });
    await writeJsonAtomic(join(this.dir, 'host.json'), { version: FILE_VERSION, host: this.#host });
    await writeJsonAtomic(join(this.dir, 'decisions.json'), {
      version: FILE_VERSION,
      decisions: this.#decisions,
    });
  }

  async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.flush();
  }
}
