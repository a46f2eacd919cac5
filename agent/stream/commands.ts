/**
 * Runs clients' commands: role check per message (not only at connect), the connection's
 * command bucket, a cool-down per VM for destructive actions, a cap on actions running at once
 * on the host, then `ack`, the action through the agent's executor (or `agent.setPolicy` for
 * policy.set, made exactly-once by the stream's own key store), the `result`, and one audit line.
 *
 * Exactly once per idempotency key: the executor keeps keys for its actions (persisted, across
 * restarts); a key already seen succeed here skips the cool-down and the cap (a repeat runs
 * nothing), and a cool-down is given back when the command turned out to run nothing.
 */
import type { Logger } from 'pino';
import { describeError, ErrorCode } from '../../shared/errors.ts';
import {
  CloseCode,
  PROTOCOL_VERSION,
  requiredRole,
  roleAtLeast,
} from '../../shared/protocol/index.ts';
import type { CommandMessage } from '../../shared/protocol/index.ts';
import type { Audit, AuditRecord } from './audit.ts';
import type { StreamConfig } from './config.ts';
import type { Connection } from './connection.ts';
import { CONFLICT_CODE, failed, resultMessage, runAction, setPolicy } from './execute.ts';
import type { Ran } from './execute.ts';
import type { KeyStore } from './key-store.ts';
import type { StreamAgent } from './port.ts';
import { Cooldowns } from './rate-limit.ts';
import type { Clock } from './rate-limit.ts';

/** Actions limited per VM (reliability.md §2.5: restart, snapshot, checkpoint and the like). */
export const DESTRUCTIVE: ReadonlySet<CommandMessage['action']> = new Set([
  'snapshot.create',
  'snapshot.revert',
  'snapshot.delete',
  'checkpoint.create',
  'domain.shutdown',
  'domain.restart',
  'domain.destroy',
]);

/** Answers after which nothing ran: a cool-down taken for them is given back. */
const NOTHING_RAN = new Set([
  CONFLICT_CODE,
  'VFT_ERR_ACTION_INVALID',
  'VFT_ERR_ACTION_BUSY',
  'VFT_ERR_ACTION_UNAVAILABLE',
]);

/** What the runner is built with. */
export interface CommandRunnerDeps {
  readonly agent: StreamAgent;
  readonly keys: KeyStore;
  readonly audit: Audit;
  readonly limits: StreamConfig['limits'];
  readonly clock: Clock;
  readonly log: Logger;
}

export class CommandRunner {
  readonly #d: CommandRunnerDeps;
  readonly #cooldowns: Cooldowns;
  /** Keys that succeeded in this process (bounded, oldest dropped): repeats skip the limits. */
  readonly #done = new Set<string>();
  readonly #inflight = new Set<string>();
  #running = 0;

  constructor(d: CommandRunnerDeps) {
    this.#d = d;
    this.#cooldowns = new Cooldowns(d.limits.destructiveCooldownMs, d.clock);
  }

  /** Actions from the stream running now. */
  get running(): number {
    return this.#running;
  }

  async handle(c: Connection, m: CommandMessage): Promise<void> {
    const p = c.principal;
    const audit = (
      r: Omit<
        AuditRecord,
        'principal' | 'role' | 'remote' | 'cmdId' | 'idemKey' | 'action' | 'domainUuid'
      >,
    ) => {
      this.#d.audit.record({
        principal: p.id,
        role: p.role,
        remote: p.remote,
        certFingerprint: p.certFingerprint,
        cmdId: m.id,
        idemKey: m.key,
        action: m.action,
        domainUuid: m.domain.uuid.toLowerCase(),
        ...r,
      });
    };
    const refuse = (
      decision: AuditRecord['decision'],
      code: ErrorCode,
      message: string,
      retryAfterMs: number | null = null,
    ) => {
      audit({ decision, code, message });
      c.reply(m.id, code, message, retryAfterMs);
    };
    const need = requiredRole(m.action);
    if (!roleAtLeast(p.role, need)) {
      refuse(
        'forbidden',
        ErrorCode.STREAM_FORBIDDEN,
        `${m.action} needs the ${need} role; this token is ${p.role}`,
      );
      return;
    }
    if (!c.commands.take()) {
      if (c.commandFlood.refused()) {
        audit({
          decision: 'rate-limited',
          code: ErrorCode.STREAM_RATE_LIMITED,
          message: 'command flood: connection closed',
        });
        c.fail(
          ErrorCode.STREAM_RATE_LIMITED,
          'Command flood: closing',
          CloseCode.POLICY_VIOLATION,
          m.id,
        );
      } else {
        refuse(
          'rate-limited',
          ErrorCode.STREAM_RATE_LIMITED,
          `More than ${this.#d.limits.commandsPerSec} commands/s on this connection`,
          c.commands.waitMs(),
        );
      }
      return;
    }
    const uuid = m.domain.uuid.toLowerCase();
    const repeat = this.#done.has(m.key) || this.#inflight.has(m.key);
    let cooled = false;
    if (!repeat) {
      if (DESTRUCTIVE.has(m.action)) {
        const wait = this.#cooldowns.take(uuid);
        if (wait > 0) {
          refuse(
            'rate-limited',
            ErrorCode.STREAM_RATE_LIMITED,
            `At most one destructive action per VM every ${this.#d.limits.destructiveCooldownMs} ms`,
            wait,
          );
          return;
        }
        cooled = true;
      }
      if (this.#running >= this.#d.limits.maxConcurrentActions) {
        if (cooled) this.#cooldowns.release(uuid);
        refuse(
          'rate-limited',
          ErrorCode.STREAM_RATE_LIMITED,
          `${this.#running} actions already running on this host`,
          1000,
        );
        return;
      }
      this.#running++;
    }
    c.send({ v: PROTOCOL_VERSION, type: 'ack', ref: m.id, key: m.key, action: m.action });
    this.#inflight.add(m.key);
    let r: Ran;
    try {
      r =
        m.action === 'policy.set'
          ? await setPolicy(this.#d.agent, this.#d.keys, m)
          : await runAction(this.#d.agent, m, p.id);
    } catch (err) {
      // The executor never throws; this is a bug or a state-directory failure.
      this.#d.log.error({ err, cmdId: m.id }, 'stream command failed unexpectedly');
      r = {
        outcome: failed(ErrorCode.STREAM_INTERNAL, describeError(err), new Date()),
        duplicate: false,
        recovered: false,
      };
    } finally {
      this.#inflight.delete(m.key);
      if (!repeat) this.#running--;
    }
    const o = r.outcome;
    if (o.ok) this.#remember(m.key);
    if (cooled && (r.duplicate || (!o.ok && NOTHING_RAN.has(o.error?.code ?? ''))))
      this.#cooldowns.release(uuid);
    c.send(resultMessage(m, r, this.#d.log));
    audit({
      decision: r.duplicate ? 'duplicate' : 'accepted',
      result: o.ok ? 'ok' : 'failed',
      durationMs: o.durationMs,
      ...(o.error ? { code: o.error.code, message: o.error.message } : {}),
    });
  }

  #remember(key: string): void {
    this.#done.add(key);
    if (this.#done.size > 10_000) {
      const oldest = this.#done.values().next().value;
      if (oldest !== undefined) this.#done.delete(oldest);
    }
  }
}
