/**
 * The executor's persisted state under `<stateDir>/actions/`:
 * - `keys/<sha256(key)>.json`: the first result of each idempotency key, kept for the retention
 *   period, so a repeat (even after an agent restart) returns it instead of acting again;
 * - `inflight/<sha256(key)>.json`: the in-flight marker of an action that is running, written
 *   before its first libvirt call and removed after its result is recorded. One left behind
 *   means the agent stopped in the middle; recover() resolves it.
 *
 * File names are hashes, so no key can name a path (S10); every write is atomic and fsynced
 * (agent/state/atomic-file.ts), files are 0600 and symbolic links are refused.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AgentError, ErrorCode } from '../../shared/errors.ts';
import { readJsonFile, writeJsonAtomic } from '../state/atomic-file.ts';
import { ACTION_KINDS } from './types.ts';
import type { ActionParams, ActionResult } from './types.ts';

const ResultSchema = z.looseObject({
  ok: z.boolean(),
  kind: z.enum(ACTION_KINDS),
  domainUuid: z.string(),
  idempotencyKey: z.string(),
  startedAt: z.string(),
  durationMs: z.number(),
});

const RecordSchema = z.object({
  v: z.literal(1),
  key: z.string(),
  fingerprint: z.string(),
  recordedAt: z.number(),
  result: ResultSchema,
});

const MarkerSchema = z.object({
  v: z.literal(1),
  key: z.string(),
  fingerprint: z.string(),
  kind: z.enum(ACTION_KINDS),
  domain: z.object({ uuid: z.string(), name: z.string().nullable() }),
  params: z.record(z.string(), z.unknown()),
  origin: z.enum(['policy', 'admin', 'cli']),
  reason: z.string(),
  startedAt: z.number(),
  pid: z.number(),
  /** snapshot/checkpoint create: the name decided before the first libvirt call. */
  name: z.string().nullable(),
});

/** The stored first result of a key. */
export interface KeyRecord {
  readonly key: string;
  readonly fingerprint: string;
  readonly recordedAt: number;
  readonly result: ActionResult;
}

/** An in-flight marker. */
export type Marker = Omit<z.infer<typeof MarkerSchema>, 'params'> & {
  readonly params: ActionParams;
};

export class ActionStore {
  readonly #keysDir: string;
  readonly #inflightDir: string;
  readonly #retentionMs: number;
  readonly #now: () => number;
  #ready: Promise<void> | null = null;

  constructor(stateDir: string, retentionMs: number, now: () => number) {
    this.#keysDir = join(stateDir, 'actions', 'keys');
    this.#inflightDir = join(stateDir, 'actions', 'inflight');
    this.#retentionMs = retentionMs;
    this.#now = now;
  }

  /** Creates the directories (0700) once; refuses symbolic links in their place. */
  ready(): Promise<void> {
    this.#ready ??= (async () => {
      for (const dir of [this.#keysDir, this.#inflightDir]) {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        const st = await lstat(dir);
        if (!st.isDirectory()) {
          throw new AgentError(ErrorCode.STATE_IO, `Refusing to use ${dir}: not a directory`);
        }
      }
    })();
    this.#ready.catch(() => (this.#ready = null));
    return this.#ready;
  }

  /** The stored result of `key`, or null when there is none or it expired. */
  async getRecord(key: string): Promise<KeyRecord | null> {
    await this.ready();
    const raw = await readJsonFile(this.#keyPath(key), null);
    if (raw === null) return null;
    const rec = RecordSchema.parse(raw);
    if (rec.key !== key) return null; // a hash collision: treat as absent
    if (this.#now() - rec.recordedAt > this.#retentionMs) return null;
    return { ...rec, result: rec.result as unknown as ActionResult };
  }

  async putRecord(key: string, fingerprint: string, result: ActionResult): Promise<void> {
    await this.ready();
    await writeJsonAtomic(this.#keyPath(key), {
      v: 1,
      key,
      fingerprint,
      recordedAt: this.#now(),
      result,
    });
  }

  async writeMarker(m: Marker): Promise<void> {
    await this.ready();
    await writeJsonAtomic(join(this.#inflightDir, fileOf(m.key)), m);
  }

  async removeMarker(key: string): Promise<void> {
    await unlink(join(this.#inflightDir, fileOf(key))).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    });
  }

  async hasMarker(key: string): Promise<boolean> {
    await this.ready();
    return (await readJsonFile(join(this.#inflightDir, fileOf(key)), null)) !== null;
  }

  /** Every marker left in the directory; unreadable ones are returned as errors, not thrown. */
  async listMarkers(): Promise<{ markers: Marker[]; errors: string[] }> {
    await this.ready();
    const markers: Marker[] = [];
    const errors: string[] = [];
    for (const f of (await readdir(this.#inflightDir)).filter((n) => n.endsWith('.json'))) {
      try {
        markers.push(MarkerSchema.parse(await readJsonFile(join(this.#inflightDir, f), null)));
      } catch (err) {
        errors.push(`${f}: ${(err as Error).message}`);
      }
    }
    return { markers, errors };
  }

  /** Deletes expired and unreadable key records; returns how many. */
  async sweep(): Promise<number> {
    await this.ready();
    let removed = 0;
    for (const f of await readdir(this.#keysDir)) {
      if (!f.endsWith('.json')) continue;
      const p = join(this.#keysDir, f);
      let expired: boolean;
      try {
        expired =
          this.#now() - RecordSchema.parse(await readJsonFile(p, null)).recordedAt >
          this.#retentionMs;
      } catch {
        expired = true;
      }
      if (expired) {
        await unlink(p).catch(() => undefined);
        removed++;
      }
    }
    return removed;
  }

  #keyPath(key: string): string {
    return join(this.#keysDir, fileOf(key));
  }
}

function fileOf(key: string): string {
  return `${createHash('sha256').update(key).digest('hex')}.json`;
}
