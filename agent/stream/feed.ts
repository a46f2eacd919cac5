/**
 * Feeds the journal from the agent: each domain transition, decision (and its outcome), libvirt
 * session change and changed health summary becomes an event, validated against the protocol
 * before it gets a seq. Also computes stats deltas on demand (they are not events).
 */
import type { Logger } from 'pino';
import { EventBody } from '../../shared/protocol/index.ts';
import type { StatsMessage } from '../../shared/protocol/index.ts';
import {
  decisionBody,
  healthBody,
  memoryErrorRate,
  sessionBody,
  statsDeltas,
  transitionBody,
} from './changes.ts';
import type { Journal } from './journal.ts';
import type { StreamAgent } from './port.ts';

type Values = StatsMessage['domains'][number]['values'];

export class EventFeed {
  readonly #agent: StreamAgent;
  readonly #journal: Journal;
  readonly #log: Logger;
  #unlisten: (() => void) | null = null;
  #lastHealth = '';
  #stats = new Map<string, Values>();

  constructor(agent: StreamAgent, journal: Journal, log: Logger) {
    this.#agent = agent;
    this.#journal = journal;
    this.#log = log;
  }

  /** Starts listening to the agent. */
  start(): void {
    this.#unlisten ??= this.#agent.addListener({
      onTransition: (t) => {
        this.#append(transitionBody(t), new Date(t.at));
      },
      onDecision: (d) => {
        this.#append(decisionBody(d), new Date(d.outcome?.at ?? d.at));
      },
      onSession: (s) => {
        this.#append(sessionBody(s), s.time);
      },
      onHealth: (r) => {
        // The agent reports health every interval; only a changed verdict is an event.
        const body = healthBody(r, memoryErrorRate(r));
        const key = JSON.stringify(body);
        if (key === this.#lastHealth) return;
        this.#lastHealth = key;
        this.#append(body, new Date());
      },
    });
  }

  stop(): void {
    this.#unlisten?.();
    this.#unlisten = null;
  }

  /** What changed in the VMs' stats since the last call. */
  statsDeltas(): StatsMessage['domains'] {
    const { deltas, next } = statsDeltas(this.#stats, this.#agent.status());
    this.#stats = next;
    return deltas;
  }

  #append(body: EventBody, at: Date): void {
    const r = EventBody.safeParse(body);
    if (!r.success) {
      this.#log.error(
        { kind: body.kind, issues: r.error.issues.slice(0, 3) },
        'stream event does not fit the protocol: not sent',
      );
      return;
    }
    this.#journal.append(r.data, Number.isNaN(at.getTime()) ? new Date() : at);
  }
}
