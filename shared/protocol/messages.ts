/**
 * The stream's messages: one discriminated union per direction, on `type`, each message with
 * the protocol version `v`. docs/protocol.md explains them; docs/protocol.schema.json is
 * generated from these schemas (shared/protocol/gen-schema.ts) and checked for drift.
 *
 * Agent → client: hello, snapshot, event, stats, gap, subscribed, ack, result, error, pong.
 * Client → agent: subscribe, command, ping.
 */
import { z } from 'zod';
import {
  AckMessage,
  COMMAND_ACTIONS,
  CommandMessage,
  ErrorMessage,
  ResultMessage,
} from './commands.ts';
import { EventMessage, StatsMessage } from './events.ts';
import { Id, IsoTime, label, Message, Seq, Version, ID_RE } from './fields.ts';
import { AgentStatusSchema } from './status.ts';
import { CAPABILITIES, PROTOCOL_VERSION, ROLES } from './version.ts';

/** An epoch: names one journal. Seqs of different epochs are not comparable. */
export const Epoch = z.string().regex(ID_RE);

/** `hello`: sent at once after the upgrade. */
export const HelloMessage = z.strictObject({
  v: Version,
  type: z.literal('hello'),
  agentId: label(128),
  host: label(255),
  agentVersion: label(64),
  protocol: z.strictObject({
    version: z.literal(PROTOCOL_VERSION),
    /** Every version this agent speaks. */
    supported: z.array(z.number().int().min(1)).min(1).max(16),
  }),
  capabilities: z.array(z.enum(CAPABILITIES)).max(32),
  /** The journal's epoch and its last seq: resume with both. */
  epoch: Epoch,
  seq: Seq,
  /** Who this connection is (the token's id and role) and what it may send. */
  principal: z.strictObject({ id: Id, role: z.enum(ROLES) }),
  actions: z.array(z.enum(COMMAND_ACTIONS)).max(COMMAND_ACTIONS.length),
  limits: z.strictObject({
    maxMessageBytes: z.number().int().min(1),
    commandsPerSec: z.number().min(0),
    commandBurst: z.number().int().min(0),
  }),
  time: IsoTime,
});
export type HelloMessage = z.infer<typeof HelloMessage>;

/** `snapshot`: the whole status; it reflects every event up to and including `seq`. */
export const SnapshotMessage = z.strictObject({
  v: Version,
  type: z.literal('snapshot'),
  epoch: Epoch,
  seq: Seq,
  status: AgentStatusSchema,
});
export type SnapshotMessage = z.infer<typeof SnapshotMessage>;

/** Why events were not delivered. */
export const GAP_REASONS = [
  /** The client asked to resume from a seq older than the journal keeps. */
  'journal',
  /** The client read too slowly; events were skipped instead of queued. */
  'slow-consumer',
  /** The client's epoch is not the agent's (the journal was reset): its seqs mean nothing here. */
  'epoch',
  /** The client claims a seq the agent never sent in this epoch. */
  'ahead',
] as const;

/**
 * `gap`: events in `[from, to]` are not delivered (from null: unknown); a `snapshot` at seq
 * `to` follows at once and replaces them. Events resume at `to + 1`.
 */
export const GapMessage = z.strictObject({
  v: Version,
  type: z.literal('gap'),
  reason: z.enum(GAP_REASONS),
  from: Seq.nullable(),
  to: Seq,
  message: Message,
});
export type GapMessage = z.infer<typeof GapMessage>;

/** `subscribed`: caught up: the replay or snapshot is complete, live events follow from `seq + 1`. */
export const SubscribedMessage = z.strictObject({
  v: Version,
  type: z.literal('subscribed'),
  mode: z.enum(['resume', 'snapshot']),
  epoch: Epoch,
  seq: Seq,
  /** Events replayed from the journal (resume). */
  replayed: z.number().int().min(0),
});
export type SubscribedMessage = z.infer<typeof SubscribedMessage>;

/** `pong`: the answer to a `ping`. */
export const PongMessage = z.strictObject({
  v: Version,
  type: z.literal('pong'),
  ref: Id.nullable(),
  seq: Seq,
  time: IsoTime,
});
export type PongMessage = z.infer<typeof PongMessage>;

/** Everything the agent sends. */
export const ServerMessage = z.discriminatedUnion('type', [
  HelloMessage,
  SnapshotMessage,
  EventMessage,
  StatsMessage,
  GapMessage,
  SubscribedMessage,
  AckMessage,
  ResultMessage,
  ErrorMessage,
  PongMessage,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;

/**
 * `subscribe`: start receiving. Without `fromSeq`: a snapshot, then live events. With `fromSeq`
 * (the last seq the client has) and `epoch` (from the hello it had then): the events it missed
 * from the journal, or a `gap` and a snapshot when they are gone. Once per connection.
 */
export const SubscribeMessage = z
  .strictObject({
    v: Version,
    type: z.literal('subscribe'),
    id: Id.optional(),
    fromSeq: Seq.optional(),
    epoch: Epoch.optional(),
    /** Receive `stats` messages. @default true */
    stats: z.boolean().optional(),
  })
  .refine((m) => (m.fromSeq === undefined) === (m.epoch === undefined), {
    error: 'fromSeq and epoch go together',
  });
export type SubscribeMessage = z.infer<typeof SubscribeMessage>;

/** `ping`: answered with `pong` (an application-level liveness check; ws pings also run). */
export const PingMessage = z.strictObject({
  v: Version,
  type: z.literal('ping'),
  id: Id.optional(),
});
export type PingMessage = z.infer<typeof PingMessage>;

/** Everything a client sends. */
export const ClientMessage = z.discriminatedUnion('type', [
  SubscribeMessage,
  CommandMessage,
  PingMessage,
]);
export type ClientMessage = z.infer<typeof ClientMessage>;
