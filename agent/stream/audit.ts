/**
 * The audit trail (reliability.md §2.6): one structured log line per command, whether it ran,
 * was answered from its key, or was refused; and one per refused handshake. Only canonical,
 * validated fields: never a token, never a raw payload. Refusals are limited to
 * `maxRejectsPerSec` lines per principal; the ones left out are counted and the count goes
 * into the next line written for that principal (`suppressed`), so the log cannot be used to
 * amplify a flood.
 */
import type { Logger } from 'pino';
import type { Clock } from './rate-limit.ts';
import { KeyedBuckets, TokenBucket } from './rate-limit.ts';

/** What became of a command. */
export type AuditDecision =
  'accepted' | 'duplicate' | 'invalid' | 'forbidden' | 'rate-limited' | 'refused';

/** One audit line's fields. */
export interface AuditRecord {
  readonly decision: AuditDecision;
  /** Token id, or the remote address for a refused handshake. */
  readonly principal: string;
  readonly role: string | null;
  readonly remote: string;
  readonly certFingerprint?: string | null;
  readonly cmdId: string | null;
  readonly idemKey: string | null;
  readonly action: string | null;
  readonly domainUuid: string | null;
  /** For commands that ran: ok or failed. */
  readonly result?: 'ok' | 'failed';
  /** The error code of a refusal or a failure. */
  readonly code?: string;
  readonly durationMs?: number;
  readonly message?: string;
}

export class Audit {
  readonly #log: Logger;
  readonly #buckets: KeyedBuckets;
  readonly #suppressed = new Map<string, number>();
  #total = 0;

  constructor(log: Logger, clock: Clock, maxRejectsPerSec = 10) {
    this.#log = log;
    this.#buckets = new KeyedBuckets(
      () => new TokenBucket(maxRejectsPerSec, maxRejectsPerSec, clock),
      1024,
    );
  }

  /** Refusal lines left out so far, over all principals. */
  get suppressedTotal(): number {
    return this.#total;
  }

  /** Writes the line for a command (or a refused handshake: `kind` 'handshake'). */
  record(r: AuditRecord, kind: 'command' | 'handshake' = 'command'): void {
    const refusal = r.decision !== 'accepted' && r.decision !== 'duplicate';
    if (refusal && !this.#buckets.take(r.principal)) {
      this.#suppressed.set(r.principal, (this.#suppressed.get(r.principal) ?? 0) + 1);
      this.#total++;
      return;
    }
    const suppressed = this.#suppressed.get(r.principal) ?? 0;
    this.#suppressed.delete(r.principal);
    const line = { audit: `stream.${kind}`, ...r, ...(suppressed > 0 ? { suppressed } : {}) };
    const failed = refusal || r.result === 'failed';
    if (failed) this.#log.warn(line, `stream ${kind} ${r.decision}${r.code ? `: ${r.code}` : ''}`);
    else this.#log.info(line, `stream ${kind} ${r.decision}`);
  }
}
