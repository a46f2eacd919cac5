/**
 * `subscribe`: a fresh client gets a snapshot; a returning one (`fromSeq` + `epoch`) gets the
 * events it missed from the journal, exactly, or, when they are gone, a `gap` saying why and a
 * snapshot. Either way it ends with `subscribed`, after which live events follow from the next
 * seq. It all runs in one synchronous step, so no commit can slip between replay and live.
 */
import { encodeMessage, PROTOCOL_VERSION } from '../../shared/protocol/index.ts';
import type { GapMessage, SubscribeMessage } from '../../shared/protocol/index.ts';
import type { Connection } from './connection.ts';
import type { Journal } from './journal.ts';
import type { Snapshots } from './snapshots.ts';

export class Subscriptions {
  readonly #journal: Journal;
  readonly #snapshots: Snapshots;

  constructor(journal: Journal, snapshots: Snapshots) {
    this.#journal = journal;
    this.#snapshots = snapshots;
  }

  subscribe(c: Connection, m: SubscribeMessage): void {
    const j = this.#journal;
    const head = j.seq;
    if (m.fromSeq === undefined || m.epoch === undefined) {
      this.#fresh(c, null);
      return;
    }
    if (m.epoch !== j.epoch) {
      this.#fresh(c, {
        reason: 'epoch',
        from: null,
        message: `Epoch ${m.epoch} is not this journal's (${j.epoch}): it was reset`,
      });
      return;
    }
    if (m.fromSeq > head) {
      this.#fresh(c, {
        reason: 'ahead',
        from: null,
        message: `Seq ${m.fromSeq} was never sent: the last is ${head}`,
      });
      return;
    }
    const missed = j.since(m.fromSeq);
    if (missed === null) {
      this.#fresh(c, {
        reason: 'journal',
        from: m.fromSeq + 1,
        message: `Events after ${m.fromSeq} are no longer all kept (the oldest kept is ${j.base + 1})`,
      });
      return;
    }
    c.outbox.subscribe(m.fromSeq);
    for (const e of missed) c.outbox.event(e);
    c.send({
      v: PROTOCOL_VERSION,
      type: 'subscribed',
      mode: 'resume',
      epoch: j.epoch,
      seq: head,
      replayed: missed.length,
    });
  }

  /** A snapshot (after a gap when `gap` is given), then `subscribed`. */
  #fresh(c: Connection, gap: Pick<GapMessage, 'reason' | 'from' | 'message'> | null): void {
    const snap = this.#snapshots.get();
    if (gap)
      c.outbox.control(encodeMessage({ v: PROTOCOL_VERSION, type: 'gap', to: snap.seq, ...gap }));
    c.outbox.control(snap.line);
    c.outbox.subscribe(snap.seq);
    c.send({
      v: PROTOCOL_VERSION,
      type: 'subscribed',
      mode: 'snapshot',
      epoch: this.#journal.epoch,
      seq: snap.seq,
      replayed: 0,
    });
  }
}
