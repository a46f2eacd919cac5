/**
 * Builds `snapshot` messages: the agent's whole status as JSON (bigints as numbers or decimal
 * strings), tagged with the journal's epoch and last committed seq, validated against the
 * protocol. Every event up to that seq is already reflected in the status: an agent listener
 * runs after the agent's state changed, and seqs are only committed after that. A snapshot is
 * reused for 250 ms while the seq is unchanged, so a burst of resubscribing clients builds one.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import {
  bigintReplacer,
  encodeMessage,
  PROTOCOL_VERSION,
  SnapshotMessage,
} from '../../shared/protocol/index.ts';
import type { Journal } from './journal.ts';
import type { StreamAgent } from './port.ts';

const REUSE_MS = 250;

export class Snapshots {
  readonly #agent: StreamAgent;
  readonly #journal: Journal;
  readonly #log: Logger;
  #cache: { seq: number; at: number; line: string } | null = null;

  constructor(agent: StreamAgent, journal: Journal, log: Logger) {
    this.#agent = agent;
    this.#journal = journal;
    this.#log = log;
  }

  /** The current snapshot and the seq it reflects. */
  get(): { seq: number; line: string } {
    const seq = this.#journal.seq;
    const now = performance.now();
    const c = this.#cache;
    if (c && c.seq === seq && now - c.at < REUSE_MS) return c;
    const status: unknown = JSON.parse(JSON.stringify(this.#agent.status(), bigintReplacer));
    const msg = { v: PROTOCOL_VERSION, type: 'snapshot', epoch: this.#journal.epoch, seq, status };
    const r = SnapshotMessage.safeParse(msg);
    if (!r.success) {
      // A bug, or a host beyond a bound (docs/protocol.md): say where, send it anyway, since a
      // client without any state is worse off than one whose strict parser complains.
      this.#log.error(
        { issues: r.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`) },
        'stream snapshot does not fit the protocol',
      );
    }
    this.#cache = { seq, at: now, line: r.success ? encodeMessage(r.data) : JSON.stringify(msg) };
    return this.#cache;
  }
}
