/**
 * `POST /v1/actions`: an admin's action, forwarded to the agent of the named host with the
 * admin's idempotency key unchanged, and the agent's result returned. Validated with the
 * protocol's own command schema before anything is sent; the role is checked per action
 * (operator; admin for policy.set); actions are rate-limited per token; one audit line each.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { AgentError, ErrorCode } from '../../shared/errors.ts';
import {
  COMMAND_ACTIONS,
  CommandMessage,
  IdemKey,
  PROTOCOL_VERSION,
  requiredRole,
} from '../../shared/protocol/index.ts';
import type { Fleet } from '../fleet/fleet.ts';
import type { AgentLink } from '../link/agent-link.ts';
import type { CommandInput } from '../link/commands.ts';
import type { ApiAuth, ApiPrincipal } from './auth.ts';
import { ApiError } from './errors.ts';

/** The body of `POST /v1/actions`. */
export const ActionRequestSchema = z.strictObject({
  /** The host's id (as in `GET /v1/hosts`). */
  host: z.string().min(1).max(128),
  /** The VM's UUID or name on that host. */
  vm: z.string().min(1).max(256),
  action: z.enum(COMMAND_ACTIONS),
  /** Idempotency key (use a UUID): the same key again returns the first result. */
  key: IdemKey,
  params: z.record(z.string().max(64), z.unknown()).optional(),
  reason: z.string().max(4096).optional(),
  ifBusy: z.enum(['wait', 'reject']).optional(),
  deadlineMs: z.number().int().min(1).max(3_600_000).optional(),
});
/** A validated action request. */
export type ActionRequest = z.infer<typeof ActionRequestSchema>;

/** What an action needs from the coordinator. */
export interface ActionDeps {
  readonly fleet: Fleet;
  readonly links: ReadonlyMap<string, AgentLink>;
  readonly auth: ApiAuth;
  readonly log: Logger;
  readonly actionTimeoutMs: number;
}

const issues = (e: z.ZodError): string =>
  e.issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`)
    .join('; ');

/** The command without `v`, `type` and `id` (the link adds its own correlation id). */
function withoutEnvelope(c: CommandMessage): CommandInput {
  const copy: Record<string, unknown> = { ...c };
  delete copy['v'];
  delete copy['type'];
  delete copy['id'];
  return copy as CommandInput;
}

/** Validates, authorizes, forwards and answers one action; throws {@link ApiError}. */
export async function runAction(
  d: ActionDeps,
  p: ApiPrincipal,
  body: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = ActionRequestSchema.safeParse(body);
  if (!r.success)
    throw new ApiError(400, ErrorCode.COORD_BAD_REQUEST, `Invalid action: ${issues(r.error)}`);
  const a = r.data;
  const need = requiredRole(a.action);
  if (need === 'admin' && p.role !== 'admin')
    throw new ApiError(403, ErrorCode.COORD_FORBIDDEN, `${a.action} needs the admin role`);
  const state = d.fleet.hosts.get(a.host);
  const link = d.links.get(a.host);
  if (!state || !link) throw new ApiError(404, ErrorCode.COORD_NOT_FOUND, `No host ${a.host}`);
  const vm = state.findVm(a.vm);
  if (!vm) throw new ApiError(404, ErrorCode.COORD_NOT_FOUND, `No VM ${a.vm} on ${a.host}`);
  const cmd = CommandMessage.safeParse({
    v: PROTOCOL_VERSION,
    type: 'command',
    id: 'validate',
    key: a.key,
    action: a.action,
    domain: { uuid: vm.uuid, name: vm.name },
    ...(a.params === undefined ? {} : { params: a.params }),
    reason: a.reason ?? `coordinator action by ${p.id}`,
    ...(a.ifBusy === undefined ? {} : { ifBusy: a.ifBusy }),
    ...(a.deadlineMs === undefined ? {} : { deadlineMs: a.deadlineMs }),
  });
  if (!cmd.success)
    throw new ApiError(400, ErrorCode.COORD_BAD_REQUEST, `Invalid action: ${issues(cmd.error)}`);
  d.auth.takeAction(p);
  const input = withoutEnvelope(cmd.data);
  const started = Date.now();
  const audit = (decision: string, code: string | null) => {
    d.log.info(
      {
        audit: 'coordinator.action',
        principal: p.id,
        role: p.role,
        remote: p.remote,
        host: a.host,
        action: a.action,
        domainUuid: vm.uuid,
        idemKey: a.key,
        decision,
        code,
        durationMs: Date.now() - started,
      },
      'admin action',
    );
  };
  const timeoutMs = Math.min(d.actionTimeoutMs, (a.deadlineMs ?? d.actionTimeoutMs) + 5_000);
  let answer;
  try {
    answer = await link.commands.run(input, timeoutMs);
  } catch (err) {
    const code = err instanceof AgentError ? err.code : ErrorCode.COORD_UNREACHABLE;
    audit('failed', code);
    const info = link.info();
    const status =
      code === ErrorCode.COORD_TIMEOUT ? 504 : code === ErrorCode.ACTION_CONFLICT ? 409 : 503;
    throw new ApiError(status, code, err instanceof Error ? err.message : String(err), {
      extra: {
        host: a.host,
        connection: info.state,
        lastHeardAt: info.lastHeardMs === null ? null : new Date(info.lastHeardMs).toISOString(),
      },
    });
  }
  const target = {
    host: a.host,
    vm: { uuid: vm.uuid, name: vm.name },
    action: a.action,
    key: a.key,
  };
  if (answer.type === 'error') {
    audit('refused', answer.code);
    const status =
      answer.code === ErrorCode.STREAM_RATE_LIMITED
        ? 429
        : answer.code === ErrorCode.STREAM_FORBIDDEN
          ? 403
          : answer.code === ErrorCode.STREAM_BAD_MESSAGE
            ? 400
            : 502;
    throw new ApiError(status, answer.code as ErrorCode, `The agent refused: ${answer.message}`, {
      ...(answer.retryAfterMs === null ? {} : { retryAfterMs: answer.retryAfterMs }),
      extra: { refusedBy: 'agent', ...target },
    });
  }
  audit(answer.duplicate ? 'duplicate' : 'ran', answer.ok ? null : answer.error.code);
  const rest: Record<string, unknown> = { ...answer };
  delete rest['v'];
  delete rest['type'];
  delete rest['ref'];
  return { status: 200, body: { ...target, ...rest } };
}
