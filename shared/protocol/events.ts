/**
 * Events: what changed on the agent, in order. Every event has a `seq`, dense and increasing per
 * agent (it survives agent restarts: the agent keeps a journal of them), so a client that has
 * event n and then sees n + 2 knows it missed one; it never does without a `gap` message first.
 *
 * Stats are not events: they are volatile, coalesced for a slow client and never journaled, so
 * they travel in their own `stats` message and carry no seq of their own (see messages.ts).
 */
import { z } from 'zod';
import { IsoTime, label, Message, Ms, Seq, Uuid, Version } from './fields.ts';
import { StatsValues } from './status.ts';

const StateSummary = z.strictObject({ state: label(64), reason: label(128) });

/** A domain changed state (or appeared, or was undefined: `to` null). */
export const DomainEventBody = z.strictObject({
  kind: z.literal('domain'),
  uuid: Uuid,
  name: label(256),
  /** null: the agent did not know the domain before. */
  from: StateSummary.nullable(),
  /** null: the domain is gone (undefined). */
  to: StateSummary.nullable(),
  /** It happened while the agent was not listening (seen at a re-listing). */
  late: z.boolean(),
  source: z.enum(['event', 'resync']),
});

/** An automatic decision of the policy engine (`decided`), and later its outcome (`finished`). */
export const DecisionEventBody = z.strictObject({
  kind: z.literal('decision'),
  phase: z.enum(['decided', 'finished']),
  id: label(128),
  domain: z.strictObject({ uuid: Uuid, name: label(256) }),
  /** none | restart | revert | quarantine | resume | kill | leave-paused | observe */
  action: label(32),
  rule: label(64),
  delayMs: Ms,
  reasons: z.array(Message).max(32),
  snapshot: label(256).nullable(),
  failure: z
    .strictObject({ kind: label(64), signal: Message, late: z.boolean(), at: IsoTime })
    .nullable(),
  /** Shadow mode: decided but not acted on. */
  shadow: z.boolean(),
  outcome: z.strictObject({ ok: z.boolean(), at: IsoTime, message: Message }).nullable(),
});

/** The host's health verdict changed (sent only when the summary differs from the last one). */
export const HealthEventBody = z.strictObject({
  kind: z.literal('health'),
  /** Host risk: healthy | warning | failing | unknown. */
  risk: label(32),
  diskFailureProbability: z.number().min(0).max(1).nullable(),
  /** Corrected memory errors per 24 h on the worst DIMM. */
  memoryErrorRate: z.number().nullable(),
  memory: z.strictObject({ status: label(32), risk: label(32) }),
  disks: z
    .array(
      z.strictObject({
        key: label(256),
        device: label(256),
        model: label(256).nullable(),
        risk: label(32),
      }),
    )
    .max(256),
  reasons: z.array(z.strictObject({ code: label(64), level: label(32), message: Message })).max(64),
});

/** The agent's libvirt connection: connected, lost, or waiting to retry. */
export const SessionEventBody = z.strictObject({
  kind: z.literal('session'),
  state: z.enum(['connected', 'disconnected', 'backoff']),
  reconnect: z.boolean().nullable(),
  attempt: z.number().int().min(0).nullable(),
  delayMs: Ms.nullable(),
  reason: label(64).nullable(),
  message: Message.nullable(),
});

/** The body of an event, by `kind`. */
export const EventBody = z.discriminatedUnion('kind', [
  DomainEventBody,
  DecisionEventBody,
  HealthEventBody,
  SessionEventBody,
]);
export type EventBody = z.infer<typeof EventBody>;
export type EventKind = EventBody['kind'];

/** The fields every event has: its seq and when it happened. */
const EventHead = { v: Version, type: z.literal('event'), seq: Seq.min(1), at: IsoTime };

/** `event`: one journaled change. */
export const EventMessage = z.discriminatedUnion('kind', [
  DomainEventBody.extend(EventHead),
  DecisionEventBody.extend(EventHead),
  HealthEventBody.extend(EventHead),
  SessionEventBody.extend(EventHead),
]);
export type EventMessage = z.infer<typeof EventMessage>;

/**
 * `stats`: what changed in some VMs' bulk stats since the last `stats` this client got (only
 * the keys that changed). Coalesced while the client is slow; never journaled; not resumed
 * (the snapshot carries current stats).
 */
export const StatsMessage = z.strictObject({
  v: Version,
  type: z.literal('stats'),
  /** The last event seq when this was sent: these values are at least that recent. */
  seq: Seq,
  at: IsoTime,
  domains: z.array(z.strictObject({ uuid: Uuid, values: StatsValues })).max(10_000),
});
export type StatsMessage = z.infer<typeof StatsMessage>;
