/**
 * Commands a client sends (each with an idempotency key: it runs once per key, across
 * reconnects and agent restarts) and the agent's answers. A command gets either one `error`
 * (refused before it ran: invalid, forbidden, rate-limited) or one `ack` and then exactly one
 * `result` (`ok: false` when the action failed, or the key was used with another payload).
 */
import { z } from 'zod';
import {
  Id,
  IdemKey,
  IsoTime,
  Json,
  jsonObject,
  label,
  Message,
  Ms,
  Name,
  text,
  Uuid,
  Version,
} from './fields.ts';
import type { Role } from './version.ts';

/** Every command a client may send. */
export const COMMAND_ACTIONS = [
  'snapshot.create',
  'snapshot.revert',
  'snapshot.delete',
  'checkpoint.create',
  'domain.start',
  'domain.shutdown',
  'domain.restart',
  'domain.destroy',
  'policy.set',
] as const;
export type CommandAction = (typeof COMMAND_ACTIONS)[number];

/** The least role that may send `action`: admin for policies, operator for the rest. */
export function requiredRole(action: CommandAction): Role {
  return action === 'policy.set' ? 'admin' : 'operator';
}

const DomainName = z
  .string()
  .max(256)
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  .regex(/^[^\u0000-\u001f\u007f-\u009f]*$/);
const retain = (min: number) => z.number().int().min(min).max(1000).optional();
const protect = z.array(Name).max(100).optional();
const graceful = z.strictObject({ gracefulTimeoutMs: Ms.max(3_600_000).optional() });
const none = z.strictObject({});

const head = {
  v: Version,
  type: z.literal('command'),
  /** Correlation id, echoed as `ref` in the ack, result or error. */
  id: Id,
  /** Idempotency key: the same key and payload again returns the first result, `duplicate: true`. */
  key: IdemKey,
  domain: z.strictObject({ uuid: Uuid, name: DomainName.optional() }),
  /** Why, for the audit log. @default "stream command from <token id>" */
  reason: text()
    .refine((s) => s.trim() !== '', { error: 'must not be blank' })
    .optional(),
  /** If another action runs on the VM: wait for it (default) or answer busy at once. */
  ifBusy: z.enum(['wait', 'reject']).optional(),
  /** Overall deadline in ms. @default the agent's action timeout */
  deadlineMs: Ms.min(1).optional(),
};

function command<A extends CommandAction, P extends z.ZodType>(action: A, params: P) {
  return z.strictObject({ ...head, action: z.literal(action), params });
}

/** `command`: by `action`. */
export const CommandMessage = z.discriminatedUnion('action', [
  command(
    'snapshot.create',
    z
      .strictObject({
        name: Name.optional(),
        description: text().optional(),
        memory: z.boolean().optional(),
        retain: retain(1),
        protect,
      })
      .optional(),
  ),
  command('snapshot.revert', z.strictObject({ name: Name })),
  command(
    'snapshot.delete',
    z
      .strictObject({ name: Name.optional(), retain: retain(0), protect })
      .refine((p) => p.name !== undefined || p.retain !== undefined, {
        error: 'snapshot.delete needs params.name, or params.retain to prune',
      }),
  ),
  command(
    'checkpoint.create',
    z
      .strictObject({
        name: Name.optional(),
        description: text().optional(),
        retain: retain(1),
        protect,
      })
      .optional(),
  ),
  command('domain.start', none.optional()),
  command('domain.shutdown', graceful.optional()),
  command('domain.restart', graceful.optional()),
  command('domain.destroy', none.optional()),
  /** `policy: null` removes the VM's own policy (the config's applies again). */
  command('policy.set', z.strictObject({ policy: jsonObject(32).nullable() })),
]);
export type CommandMessage = z.infer<typeof CommandMessage>;

/** `ack`: the command passed every check and is running (or being answered from its key). */
export const AckMessage = z.strictObject({
  v: Version,
  type: z.literal('ack'),
  ref: Id,
  key: IdemKey,
  action: z.enum(COMMAND_ACTIONS),
});
export type AckMessage = z.infer<typeof AckMessage>;

const resultHead = {
  v: Version,
  type: z.literal('result'),
  ref: Id,
  key: IdemKey,
  action: z.enum(COMMAND_ACTIONS),
  /** The first result of this key, answered again: nothing ran this time. */
  duplicate: z.boolean(),
  /** Resolved after an agent restart interrupted it. */
  recovered: z.boolean(),
  startedAt: IsoTime,
  durationMs: z.number().min(0),
};

/** `result`: how the command ended. */
export const ResultMessage = z.discriminatedUnion('ok', [
  z.strictObject({
    ...resultHead,
    ok: z.literal(true),
    /** By action: agent/actions/types.ts (LifecycleResult, CreateResult…); policy.set: `{ policy }`. */
    result: Json,
  }),
  z.strictObject({
    ...resultHead,
    ok: z.literal(false),
    /** `VFT_ERR_ACTION_*` or `VFT_ERR_STREAM_*` (docs/errors.md). */
    error: z.strictObject({ code: label(64), message: Message }),
  }),
]);
export type ResultMessage = z.infer<typeof ResultMessage>;

/** `error`: a message refused (nothing ran), or why the agent closes the connection. */
export const ErrorMessage = z.strictObject({
  v: Version,
  type: z.literal('error'),
  /** The refused message's `id`, when it had a readable one. */
  ref: Id.nullable(),
  /** A `VFT_ERR_STREAM_*` code (docs/errors.md). */
  code: label(64),
  message: Message,
  /** Rate-limited: when trying again may succeed. */
  retryAfterMs: Ms.nullable(),
  /** The agent closes the connection after this message. */
  fatal: z.boolean(),
});
export type ErrorMessage = z.infer<typeof ErrorMessage>;
