/**
 * How an operation's failure becomes a stable `VFT_ERR_ACTION_*` code. Operations throw
 * {@link ActionError} for conditions they detect themselves; libvirt's errors are mapped by
 * their virErrorNumber, never by message.
 */
import { AgentError, describeError, ErrorCode } from '../../shared/errors.ts';
import {
  LibvirtAbortError,
  LibvirtClosedError,
  LibvirtRemoteError,
  LibvirtTimeoutError,
  VirErrorCode,
} from '../libvirt/index.ts';

/** An action failure with its code; thrown by operations, turned into a result by the executor. */
export class ActionError extends AgentError {}

/** A stable code and a message, as in {@link ActionResult}. */
export interface ActionErrorInfo {
  readonly code: string;
  readonly message: string;
}

const UNSUPPORTED: ReadonlySet<number> = new Set([
  VirErrorCode.NO_SUPPORT,
  VirErrorCode.CONFIG_UNSUPPORTED,
  VirErrorCode.ARGUMENT_UNSUPPORTED,
  VirErrorCode.OPERATION_UNSUPPORTED,
]);

const NOT_FOUND: ReadonlySet<number> = new Set([
  VirErrorCode.NO_DOMAIN,
  VirErrorCode.NO_DOMAIN_SNAPSHOT,
  VirErrorCode.NO_DOMAIN_CHECKPOINT,
]);

/**
 * Maps what an operation threw. `deadline` is the action's deadline signal: an abort or a
 * libvirt timeout while it is aborted means the deadline expired, reported with `step`, the
 * step that was running, because libvirt may still finish that last call.
 */
export function toErrorInfo(
  err: unknown,
  ctx: {
    readonly what: string;
    readonly step: string;
    readonly deadline: AbortSignal;
    readonly deadlineMs: number;
    readonly closing: boolean;
  },
): ActionErrorInfo {
  const timedOut =
    ctx.deadline.aborted &&
    (err instanceof LibvirtAbortError ||
      err instanceof LibvirtTimeoutError ||
      (err instanceof Error && err.name === 'AbortError'));
  if (timedOut && ctx.closing) {
    return {
      code: ErrorCode.ACTION_UNAVAILABLE,
      message: `${ctx.what} was aborted while ${ctx.step}: the agent is shutting down; the outcome of the last libvirt call is unknown`,
    };
  }
  if (timedOut || err instanceof LibvirtTimeoutError) {
    return {
      code: ErrorCode.ACTION_TIMEOUT,
      message: `${ctx.what} did not finish within its deadline of ${ctx.deadlineMs} ms (while ${ctx.step}); libvirt may still complete the last call`,
    };
  }
  if (err instanceof ActionError) return { code: err.code, message: err.message };
  if (err instanceof LibvirtClosedError) {
    return {
      code: ErrorCode.ACTION_UNKNOWN,
      message: `${ctx.what}: the libvirt connection was lost while ${ctx.step}; the outcome is unknown (${err.message})`,
    };
  }
  if (err instanceof LibvirtRemoteError) {
    const code = UNSUPPORTED.has(err.virCode)
      ? ErrorCode.ACTION_UNSUPPORTED
      : NOT_FOUND.has(err.virCode)
        ? ErrorCode.ACTION_NOT_FOUND
        : err.virCode === VirErrorCode.OPERATION_INVALID
          ? ErrorCode.ACTION_STATE
          : ErrorCode.ACTION_FAILED;
    return { code, message: `${ctx.what} failed while ${ctx.step}: ${err.message}` };
  }
  return {
    code: ErrorCode.ACTION_FAILED,
    message: `${ctx.what} failed while ${ctx.step}: ${describeError(err)}`,
  };
}
