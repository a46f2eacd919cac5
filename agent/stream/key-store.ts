/**
 * Exactly-once for the commands the stream runs itself (`policy.set`; the action executor keeps
 * its own keys for the rest): the first outcome of each idempotency key is kept on disk,
 * `<dir>/<sha256(key)>.json`, for the retention period, with the payload's fingerprint. The same
 * key and payload again, concurrently, on another connection or after an agent restart, gets that
 * outcome as a duplicate; the same key with another payload is a conflict. Files are written
 * atomically (agent/state/atomic-file.ts), named by hash so no key can name a path.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeJsonAtomic } from '../state/atomic-file.ts';

const OutcomeSchema = z.strictObject({
  ok: z.boolean(),
  result: z.unknown().optional(),
  error: z.strictObject({ code: z.string(), message: z.string() }).optional(),
  startedAt: z.string(),
  durationMs: z.number(),
});
/** How a command ended. */
export type Outcome = z.infer<typeof OutcomeSchema>;

const RecordSchema = z.strictObject({
  v: z.literal(1),
  key: z.string(),
  fingerprint: z.string(),
  recordedAt: z.number(),
  outcome: OutcomeSchema,
});

/** The answer of {@link KeyStore.once}. */
export type Once =
  { readonly kind: 'ran' | 'duplicate'; readonly outcome: Outcome } | { readonly kind: 'conflict' };

export class KeyStore {
  readonly #dir: string;
  readonly #retentionMs: number;
  readonly #now: () => number;
  readonly #inflight = new Map<string, { fingerprint: string; done: Promise<Outcome | null> }>();

  constructor(dir: string, retentionMs: number, now: () => number = Date.now) {
    this.#dir = dir;
    this.#retentionMs = retentionMs;
    this.#now = now;
  }

  /** Creates the directory (0700). */
  async ready(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Runs `fn` unless `key` already has an outcome. `fn` says whether its outcome is final
   * (recorded, so a repeat gets it) or transient (not recorded: a repeat runs again).
   */
  async once(
    key: string,
    fingerprint: string,
    fn: () => Promise<{ outcome: Outcome; final: boolean }>,
  ): Promise<Once> {
    const running = this.#inflight.get(key);
    if (running) {
      if (running.fingerprint !== fingerprint) return { kind: 'conflict' };
      const outcome = await running.done;
      if (outcome) return { kind: 'duplicate', outcome };
      return this.once(key, fingerprint, fn); // the first one was transient: try for real
    }
    let settle: (o: Outcome | null) => void = () => undefined;
    const done = new Promise<Outcome | null>((r) => (settle = r));
    this.#inflight.set(key, { fingerprint, done });
    try {
      const stored = await this.#read(key);
      if (stored) {
        settle(stored.outcome);
        return stored.fingerprint === fingerprint
          ? { kind: 'duplicate', outcome: stored.outcome }
          : { kind: 'conflict' };
      }
      const { outcome, final } = await fn();
      if (final) {
        await writeJsonAtomic(this.#file(key), {
          v: 1,
          key,
          fingerprint,
          recordedAt: this.#now(),
          outcome,
        });
      }
      settle(final ? outcome : null);
      return { kind: 'ran', outcome };
    } catch (err) {
      settle(null);
      throw err;
    } finally {
      this.#inflight.delete(key);
    }
  }

  /** Deletes expired and unreadable records; returns how many. */
  async sweep(): Promise<number> {
    let n = 0;
    for (const f of await readdir(this.#dir).catch(() => [] as string[])) {
      if (!f.endsWith('.json')) continue;
      const path = join(this.#dir, f);
      const rec = await readJsonFile(path, null).catch(() => null);
      const r = RecordSchema.safeParse(rec);
      if (!r.success || this.#now() - r.data.recordedAt > this.#retentionMs) {
        await unlink(path).catch(() => undefined);
        n++;
      }
    }
    return n;
  }

  async #read(key: string): Promise<z.infer<typeof RecordSchema> | null> {
    const raw = await readJsonFile(this.#file(key), null).catch(() => null);
    const r = RecordSchema.safeParse(raw);
    if (!r.success || r.data.key !== key) return null;
    if (this.#now() - r.data.recordedAt > this.#retentionMs) return null;
    return r.data;
  }

  #file(key: string): string {
    return join(this.#dir, `${createHash('sha256').update(key).digest('hex')}.json`);
  }
}

/** sha256 of a value as canonical JSON (object keys sorted): the fingerprint of a payload. */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
