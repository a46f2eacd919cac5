/**
 * Commands the coordinator forwards to one agent, by idempotency key: sent with the admin's key
 * unchanged, answered by the agent's `error` (refused, nothing ran) or `result`. A command whose
 * connection drops before its answer stays pending and is sent again, with the same key, on the
 * next connection: the agent answers it from the key (`duplicate: true`) or lets it finish, but
 * never runs it twice. The same key asked again while pending joins the first request.
 */
import type { Logger } from 'pino';
import { AgentError, ErrorCode } from '../../shared/errors.ts';
import { encodeMessage, PROTOCOL_VERSION } from '../../shared/protocol/index.ts';
import type {
  AckMessage,
  CommandMessage,
  ErrorMessage,
  ResultMessage,
} from '../../shared/protocol/index.ts';

/** A command as the coordinator builds it (`v`, `type` and `id` are added here). */
export type CommandInput = CommandMessage extends infer C
  ? C extends CommandMessage
    ? Omit<C, 'v' | 'type' | 'id'>
    : never
  : never;

/** The agent's answer to a command. */
export type CommandAnswer = ResultMessage | ErrorMessage;

interface Pending {
  readonly input: CommandInput;
  readonly fingerprint: string;
  readonly promise: Promise<CommandAnswer>;
  readonly resolve: (a: CommandAnswer) => void;
  readonly reject: (e: Error) => void;
  timer: NodeJS.Timeout | null;
  id: string;
  acked: boolean;
  sends: number;
}

let counter = 0;

/** What the pending table needs from its link. */
export interface PendingOptions {
  readonly log: Logger;
  /** Sends a line now; false when there is no open connection. */
  readonly send: (line: string) => boolean;
  /** True while the agent is connected. */
  readonly ready: () => boolean;
}

/** The commands forwarded to one agent and not answered yet, by idempotency key. */
export class PendingCommands {
  readonly #byKey = new Map<string, Pending>();
  readonly #keyOfId = new Map<string, string>();
  readonly #o: PendingOptions;

  constructor(o: PendingOptions) {
    this.#o = o;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /**
   * Sends `input` and resolves with the agent's answer. Rejects with VFT_ERR_COORD_UNREACHABLE
   * when the agent is not connected now (nothing sent) or did not come back before `timeoutMs`
   * without acknowledging, VFT_ERR_COORD_TIMEOUT when acknowledged but unanswered.
   */
  run(input: CommandInput, timeoutMs: number): Promise<CommandAnswer> {
    const fingerprint = JSON.stringify([input.action, input.domain.uuid, input.params ?? null]);
    const same = this.#byKey.get(input.key);
    if (same) {
      if (same.fingerprint === fingerprint) return same.promise;
      return Promise.reject(
        new AgentError(
          ErrorCode.ACTION_CONFLICT,
          `The idempotency key ${input.key} is in use by another pending command`,
        ),
      );
    }
    if (!this.#o.ready())
      return Promise.reject(
        new AgentError(ErrorCode.COORD_UNREACHABLE, 'The agent is not connected'),
      );
    let resolve!: (a: CommandAnswer) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<CommandAnswer>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const p: Pending = {
      input,
      fingerprint,
      promise,
      resolve,
      reject,
      timer: null,
      id: '',
      acked: false,
      sends: 0,
    };
    p.timer = setTimeout(() => {
      this.#drop(input.key);
      reject(
        p.acked
          ? new AgentError(
              ErrorCode.COORD_TIMEOUT,
              `No result within ${timeoutMs} ms; the action goes on: retry with the same key`,
            )
          : new AgentError(
              ErrorCode.COORD_UNREACHABLE,
              `The agent did not take the command within ${timeoutMs} ms`,
            ),
      );
    }, timeoutMs);
    this.#byKey.set(input.key, p);
    this.#send(p);
    return promise;
  }

  /** The agent's ack, result or error for one of ours (others are ignored). */
  answer(m: AckMessage | ResultMessage | ErrorMessage): void {
    const key = m.ref === null ? undefined : this.#keyOfId.get(m.ref);
    const p = key === undefined ? undefined : this.#byKey.get(key);
    if (key === undefined || p === undefined || p.id !== m.ref) return;
    if (m.type === 'ack') {
      p.acked = true;
      return;
    }
    this.#drop(key);
    p.resolve(m);
  }

  /** A new connection: sends every pending command again, same key, new correlation id. */
  resend(): void {
    for (const p of this.#byKey.values()) {
      this.#o.log.info({ idemKey: p.input.key, sends: p.sends }, 'resending a pending command');
      this.#send(p);
    }
  }

  /** Rejects everything pending (the coordinator stops). */
  failAll(reason: string): void {
    for (const [key, p] of this.#byKey) {
      this.#drop(key);
      p.reject(new AgentError(ErrorCode.COORD_UNREACHABLE, reason));
    }
  }

  #send(p: Pending): void {
    if (p.id !== '') this.#keyOfId.delete(p.id);
    p.id = `coord-${process.pid}-${++counter}`;
    this.#keyOfId.set(p.id, p.input.key);
    p.sends++;
    const msg = { v: PROTOCOL_VERSION, type: 'command', id: p.id, ...p.input } as CommandMessage;
    if (!this.#o.send(encodeMessage(msg)))
      this.#o.log.warn({ idemKey: p.input.key }, 'command not sent: waiting for the agent');
  }

  #drop(key: string): void {
    const p = this.#byKey.get(key);
    if (!p) return;
    if (p.timer) clearTimeout(p.timer);
    this.#keyOfId.delete(p.id);
    this.#byKey.delete(key);
  }
}
