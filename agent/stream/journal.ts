/**
 * The stream's journal: every event with its seq, bounded, on disk in the state directory, so
 * a client that reconnects (even after an agent restart) gets exactly what it missed, and seqs
 * keep increasing across restarts.
 *
 * `journal.jsonl` is append-only: a header line `{"journal":1,"epoch":…,"base":n}` (events after
 * seq `base` follow), then one event message per line. Appends are group-committed (one write
 * and one fdatasync per batch) and an event is handed to `onCommit`, hence to clients, only
 * after that: no client ever holds a seq a crash could reuse. Reading tolerates a torn last
 * line (a crash mid-write) and stops at the first bad or out-of-sequence line; what follows is
 * dropped and the file rewritten. Past `maxEvents` or `maxBytes` it is compacted to the newest
 * half with an atomic rewrite (agent/state/atomic-file.ts). A lost or unreadable journal starts
 * a new epoch: clients with seqs of the old one get a snapshot.
 */
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { readStateFile, writeFileAtomic } from '../state/atomic-file.ts';
import {
  EventMessage,
  encodeMessage,
  Epoch,
  PROTOCOL_VERSION,
} from '../../shared/protocol/index.ts';
import type { EventBody } from '../../shared/protocol/index.ts';

const Header = z.strictObject({
  journal: z.literal(1),
  epoch: Epoch,
  base: z.number().int().min(0),
});

/** A committed event: the message and its encoded line (sent as is to every client). */
export interface JournalEntry {
  readonly msg: EventMessage;
  readonly line: string;
}

/** Options of {@link Journal.open}. */
export interface JournalOptions {
  /** The stream's state directory (created 0700). */
  readonly dir: string;
  readonly maxEvents: number;
  readonly maxBytes: number;
  readonly log: Logger;
}

export class Journal {
  readonly #o: JournalOptions;
  readonly #path: string;
  #epoch: string;
  #base: number;
  #ring: JournalEntry[];
  #bytes: number;
  #assigned: number;
  #committed: number;
  #pending: JournalEntry[] = [];
  #flushing: Promise<void> | null = null;
  #fh: FileHandle | null = null;
  #rewrite = false;
  #degraded = false;
  /** Called with each committed batch, in seq order. */
  onCommit: ((batch: readonly JournalEntry[]) => void) | null = null;

  private constructor(o: JournalOptions, epoch: string, base: number, ring: JournalEntry[]) {
    this.#o = o;
    this.#path = join(o.dir, 'journal.jsonl');
    this.#epoch = epoch;
    this.#base = base;
    this.#ring = ring;
    this.#bytes = ring.reduce((n, e) => n + e.line.length + 1, 0);
    this.#committed = this.#assigned = ring.at(-1)?.msg.seq ?? base;
  }

  /** Loads (or creates) the journal in `o.dir`. Throws VFT_ERR_STATE_IO when it cannot write there. */
  static async open(o: JournalOptions): Promise<Journal> {
    await mkdir(o.dir, { recursive: true, mode: 0o700 });
    const path = join(o.dir, 'journal.jsonl');
    let text: string | null = null;
    try {
      text = await readStateFile(path, { maxBytes: o.maxBytes * 2 + 1024 * 1024 });
    } catch (err) {
      const aside = `${path}.corrupt-${Date.now()}`;
      await rename(path, aside).catch(() => undefined);
      o.log.error({ err, file: path, movedTo: aside }, 'stream journal unreadable: new epoch');
    }
    const loaded = text === null ? null : parse(text);
    const j = loaded
      ? new Journal(o, loaded.epoch, loaded.base, loaded.entries)
      : new Journal(o, randomUUID(), 0, []);
    if (loaded?.dropped) {
      o.log.warn(
        { file: path, dropped: loaded.dropped, seq: j.seq },
        'stream journal: torn or bad lines after the last good event dropped',
      );
    }
    if (!loaded || loaded.dropped) await j.#rewriteFile();
    j.#fh = await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW);
    return j;
  }

  get epoch(): string {
    return this.#epoch;
  }
  /** The last committed seq (0: none yet). */
  get seq(): number {
    return this.#committed;
  }
  /** Events with a seq above this are still in the journal. */
  get base(): number {
    return this.#base;
  }
  get size(): number {
    return this.#ring.length;
  }
  /** Writes are failing: events are kept in memory only until a rewrite succeeds. */
  get degraded(): boolean {
    return this.#degraded;
  }

  /** Assigns the next seq and queues the event for commit; returns the message. */
  append(body: EventBody, at: Date): EventMessage {
    const msg = {
      v: PROTOCOL_VERSION,
      type: 'event',
      seq: ++this.#assigned,
      at: at.toISOString(),
      ...body,
    } as EventMessage;
    this.#pending.push({ msg, line: encodeMessage(msg) });
    this.#flushing ??= this.#drain();
    return msg;
  }

  /** The committed events after `fromSeq`, or null when some of them are no longer kept. */
  since(fromSeq: number): readonly JournalEntry[] | null {
    if (fromSeq < this.#base) return null;
    const start = fromSeq - (this.#ring[0]?.msg.seq ?? this.#committed + 1) + 1;
    return this.#ring.slice(Math.max(0, start));
  }

  /** Resolves once everything appended so far is committed. */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.#fh?.close();
    this.#fh = null;
  }

  async #drain(): Promise<void> {
    await Promise.resolve(); // let the appends of this tick join the batch
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0);
      await this.#persist(batch);
      this.#ring.push(...batch);
      for (const e of batch) this.#bytes += e.line.length + 1;
      this.#committed = batch.at(-1)?.msg.seq ?? this.#committed;
      try {
        this.onCommit?.(batch);
      } catch (err) {
        this.#o.log.error({ err }, 'stream journal: commit listener failed');
      }
      if (this.#ring.length > this.#o.maxEvents || this.#bytes > this.#o.maxBytes) {
        this.#compact();
        this.#rewrite = true;
        await this.#persist([]);
      }
    }
    this.#flushing = null;
  }

  /** Appends `batch`, or rewrites the whole file when a rewrite is due; never throws. */
  async #persist(batch: readonly JournalEntry[]): Promise<void> {
    try {
      if (this.#rewrite || !this.#fh) {
        await this.#fh?.close();
        this.#fh = null;
        await this.#rewriteFile(batch);
        this.#fh = await open(
          this.#path,
          constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW,
        );
        this.#rewrite = false;
      } else if (batch.length > 0) {
        await this.#fh.write(batch.map((e) => `${e.line}\n`).join(''));
        await this.#fh.datasync();
      }
      if (this.#degraded)
        this.#o.log.info({ seq: this.#assigned }, 'stream journal writable again');
      this.#degraded = false;
    } catch (err) {
      // Availability over durability: the events still go out and stay in memory; the next
      // batch tries a full rewrite. A crash before that can lose them (docs/protocol.md).
      if (!this.#degraded)
        this.#o.log.error({ err }, 'stream journal write failed: in memory only');
      this.#degraded = true;
      this.#rewrite = true;
    }
  }

  /** Drops the oldest events down to half of each limit. */
  #compact(): void {
    let keep = Math.min(this.#ring.length, Math.floor(this.#o.maxEvents / 2));
    let bytes = 0;
    for (let i = this.#ring.length - keep; i < this.#ring.length; i++)
      bytes += (this.#ring[i]?.line.length ?? 0) + 1;
    while (keep > 1 && bytes > this.#o.maxBytes / 2) {
      bytes -= (this.#ring[this.#ring.length - keep]?.line.length ?? 0) + 1;
      keep--;
    }
    const dropped = this.#ring.splice(0, this.#ring.length - keep);
    this.#base = dropped.at(-1)?.msg.seq ?? this.#base;
    this.#bytes = bytes;
  }

  /** Atomically replaces the file with the header, the ring and `extra` (not yet in the ring). */
  async #rewriteFile(extra: readonly JournalEntry[] = []): Promise<void> {
    const header = JSON.stringify({ journal: 1, epoch: this.#epoch, base: this.#base });
    const lines = [header, ...this.#ring.map((e) => e.line), ...extra.map((e) => e.line)];
    await writeFileAtomic(this.#path, `${lines.join('\n')}\n`);
  }
}

/** The header and the good events of a journal file; `dropped`: lines after the last good one. */
function parse(
  text: string,
): { epoch: string; base: number; entries: JournalEntry[]; dropped: number } | null {
  const lines = text.split('\n');
  // Without a final newline the last line is torn (a crash mid-append): drop it.
  const torn = lines.pop() === '' ? 0 : 1;
  const header = Header.safeParse(tryJson(lines[0] ?? ''));
  if (!header.success) return null;
  const { epoch, base } = header.data;
  const entries: JournalEntry[] = [];
  let seq = base;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const r = EventMessage.safeParse(tryJson(line));
    if (!r.success || r.data.seq !== seq + 1) {
      return { epoch, base, entries, dropped: lines.length - i + torn };
    }
    seq = r.data.seq;
    entries.push({ msg: r.data, line });
  }
  return { epoch, base, entries, dropped: torn };
}

function tryJson(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}
