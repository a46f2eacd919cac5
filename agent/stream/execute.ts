/**
 * How a command runs once it passed every check: an action through the agent's executor (with
 * the stream's key prefix, so admin keys never meet the policy engine's), or policy.set through
 * the stream's own key store; and the `result` message for either.
 */
import type { Logger } from 'pino';
import type { ActionParams, ActionRequest, ActionResult } from '../actions/types.ts';
import { PolicyOverrideSchema } from '../policy/schema.ts';
import { AgentError, describeError, ErrorCode } from '../../shared/errors.ts';
import { bigintReplacer, PROTOCOL_VERSION, ResultMessage } from '../../shared/protocol/index.ts';
import type { CommandMessage, JsonValue } from '../../shared/protocol/index.ts';
import { fingerprint } from './key-store.ts';
import type { KeyStore, Outcome } from './key-store.ts';
import type { StreamAgent } from './port.ts';

/** The executor's code for a key reused with another payload (agent/actions, docs/errors.md). */
export const CONFLICT_CODE = 'VFT_ERR_ACTION_CONFLICT';
/** Prefixed to a client's key for the executor, apart from the policy engine's own keys. */
export const KEY_PREFIX = 'stream/';

/** How a command ended, and whether it was answered from its key. */
export interface Ran {
  readonly outcome: Outcome;
  readonly duplicate: boolean;
  readonly recovered: boolean;
}

/** Runs an action through the executor, with the stream's key prefix; never throws but for a bug. */
export async function runAction(
  agent: StreamAgent,
  m: Exclude<CommandMessage, { action: 'policy.set' }>,
  principal: string,
): Promise<Ran> {
  const req: ActionRequest = {
    kind: m.action,
    domain:
      m.domain.name === undefined
        ? { uuid: m.domain.uuid }
        : { uuid: m.domain.uuid, name: m.domain.name },
    params: definedOnly(m.params ?? {}),
    idempotencyKey: KEY_PREFIX + m.key,
    origin: 'admin',
    reason: m.reason ?? `stream command from ${principal}`,
    ...(m.ifBusy === undefined ? {} : { ifBusy: m.ifBusy }),
    ...(m.deadlineMs === undefined ? {} : { deadlineMs: m.deadlineMs }),
  };
  const res: ActionResult = await agent.executor.run(req);
  const base = { startedAt: res.startedAt, durationMs: res.durationMs };
  const outcome: Outcome = res.ok
    ? { ok: true, result: res.result, ...base }
    : { ok: false, error: { code: res.error.code, message: res.error.message }, ...base };
  return { outcome, duplicate: res.duplicate, recovered: res.recovered ?? false };
}

/**
 * policy.set, exactly once per key (the stream's key store): checked by the agent's policy
 * schema, then `agent.setPolicy`. A refusal that will not change (an invalid policy, no such
 * domain) is kept under the key; a transient failure is not, so a retry runs again.
 */
export async function setPolicy(
  agent: StreamAgent,
  keys: KeyStore,
  m: Extract<CommandMessage, { action: 'policy.set' }>,
): Promise<Ran> {
  const t0 = new Date();
  const uuid = m.domain.uuid.toLowerCase();
  const policy = m.params.policy;
  const once = await keys.once(m.key, fingerprint(['policy.set', uuid, policy]), async () => {
    const checked = policy === null ? null : PolicyOverrideSchema.safeParse(policy);
    if (checked && !checked.success) {
      const why = checked.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`);
      return {
        outcome: failed(ErrorCode.ACTION_INVALID, `Invalid policy: ${why.join('; ')}`, t0),
        final: true,
      };
    }
    try {
      const effective = await agent.setPolicy(uuid, checked ? checked.data : null);
      return {
        outcome: {
          ok: true,
          result: { policy: effective },
          startedAt: t0.toISOString(),
          durationMs: Date.now() - t0.getTime(),
        },
        final: true,
      };
    } catch (err) {
      const code = err instanceof AgentError ? err.code : ErrorCode.ACTION_FAILED;
      // Only a refusal that will not change is kept; a retry after, say, a lost connection runs again.
      return {
        outcome: failed(code, describeError(err), t0),
        final: code === ErrorCode.ACTION_INVALID,
      };
    }
  });
  if (once.kind === 'conflict') {
    const msg = `Idempotency key ${m.key} was used for another payload`;
    return { outcome: failed(CONFLICT_CODE, msg, t0), duplicate: false, recovered: false };
  }
  return { outcome: once.outcome, duplicate: once.kind === 'duplicate', recovered: false };
}

/** The `result` message; a body that does not fit the protocol is logged and left out. */
export function resultMessage(m: CommandMessage, r: Ran, log: Logger): ResultMessage {
  const o = r.outcome;
  const head = {
    v: PROTOCOL_VERSION,
    type: 'result',
    ref: m.id,
    key: m.key,
    action: m.action,
    duplicate: r.duplicate,
    recovered: r.recovered,
    startedAt: o.startedAt,
    durationMs: Math.max(0, o.durationMs),
  } as const;
  const msg: ResultMessage = o.ok
    ? { ...head, ok: true, result: toJsonValue(o.result) }
    : {
        ...head,
        ok: false,
        error: {
          code: (o.error?.code ?? ErrorCode.STREAM_INTERNAL).slice(0, 64),
          message: (o.error?.message ?? '').slice(0, 4096),
        },
      };
  const v = ResultMessage.safeParse(msg);
  if (v.success) return v.data;
  log.error(
    { cmdId: m.id, issues: v.error.issues.slice(0, 3) },
    'stream result does not fit the protocol: sent without its body',
  );
  return o.ok
    ? { ...head, startedAt: new Date().toISOString(), ok: true, result: null }
    : {
        ...head,
        startedAt: new Date().toISOString(),
        ok: false,
        error: { code: ErrorCode.STREAM_INTERNAL, message: 'The result could not be encoded' },
      };
}

/** A failed outcome that started at `t0`. */
export function failed(code: string, message: string, t0: Date): Outcome {
  return {
    ok: false,
    error: { code, message },
    startedAt: t0.toISOString(),
    durationMs: Date.now() - t0.getTime(),
  };
}

/** A value as JSON would carry it: bigints as numbers or strings, undefined as null. */
function toJsonValue(v: unknown): JsonValue {
  const text = JSON.stringify(v, bigintReplacer) as string | undefined;
  return text === undefined ? null : (JSON.parse(text) as JsonValue);
}

/** The params without the keys zod left undefined (exactOptionalPropertyTypes). */
function definedOnly(p: object): ActionParams {
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined));
}
