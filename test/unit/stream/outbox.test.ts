import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WebSocket } from 'ws';
import type { JournalEntry } from '../../../agent/stream/journal.ts';
import { Outbox } from '../../../agent/stream/outbox.ts';
import { encodeMessage } from '../../../shared/protocol/index.ts';
import type { EventMessage, ServerMessage } from '../../../shared/protocol/index.ts';
import { UUID_A, UUID_B } from './fake-agent.ts';
import { ManualClock } from './setup.ts';

/** A socket whose buffered amount the test sets. */
class FakeSocket {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: ServerMessage[] = [];
  send(line: string): void {
    this.sent.push(JSON.parse(line) as ServerMessage);
  }
}

function entry(seq: number): JournalEntry {
  const msg: EventMessage = {
    v: 1,
    type: 'event',
    seq,
    at: new Date(0).toISOString(),
    kind: 'session',
    state: 'backoff',
    reconnect: null,
    attempt: seq,
    delayMs: 1,
    reason: null,
    message: null,
  };
  return { msg, line: encodeMessage(msg) };
}

function setup(seq = 0) {
  const ws = new FakeSocket();
  const clock = new ManualClock();
  let snapSeq = seq;
  let slow = 0;
  const out = new Outbox(
    ws as unknown as WebSocket,
    { coalesceBytes: 100, gapBytes: 1000, slowCloseMs: 5000 },
    clock.fn,
    {
      snapshot: () => ({
        seq: snapSeq,
        line: JSON.stringify({ v: 1, type: 'snapshot', seq: snapSeq }),
      }),
      seq: () => snapSeq,
      tooSlow: () => slow++,
    },
  );
  out.subscribe(seq);
  return { ws, clock, out, setSeq: (s: number) => (snapSeq = s), slow: () => slow };
}

const types = (ws: FakeSocket) => ws.sent.map((m) => (m.type === 'event' ? `e${m.seq}` : m.type));

describe('stream outbox', () => {
  it('sends events in order and never one at or below the subscribed seq', () => {
    const { ws, out } = setup(2);
    for (const s of [1, 2, 3, 4]) out.event(entry(s));
    assert.deepEqual(types(ws), ['e3', 'e4']);
  });

  it('skips events above gapBytes, keeps sending control messages, then resyncs with gap and snapshot', () => {
    const { ws, out, setSeq } = setup();
    out.event(entry(1));
    ws.bufferedAmount = 1001;
    out.event(entry(2));
    out.event(entry(3));
    out.control(JSON.stringify({ v: 1, type: 'pong' }));
    out.check();
    assert.deepEqual(types(ws), ['e1', 'pong'], 'still draining: nothing but control');
    ws.bufferedAmount = 100;
    setSeq(3);
    out.check();
    const gap = ws.sent[2];
    assert.deepEqual(gap?.type === 'gap' && [gap.reason, gap.from, gap.to], [
      'slow-consumer',
      2,
      3,
    ]);
    assert.deepEqual(types(ws), ['e1', 'pong', 'gap', 'snapshot']);
    out.event(entry(3));
    out.event(entry(4));
    assert.deepEqual(types(ws).slice(4), ['e4']);
    assert.equal(out.gaps, 1);
    assert.equal(out.skipped, 2);
  });

  it('calls tooSlow only after slowCloseMs above gapBytes', () => {
    const { ws, out, clock, slow } = setup();
    ws.bufferedAmount = 5000;
    out.check();
    clock.advance(4999);
    out.check();
    assert.equal(slow(), 0);
    ws.bufferedAmount = 10; // it drained for a moment: the clock starts over
    out.check();
    ws.bufferedAmount = 5000;
    out.check();
    clock.advance(4999);
    out.check();
    assert.equal(slow(), 0);
    clock.advance(1);
    out.check();
    assert.equal(slow(), 1);
  });

  it('coalesces stats above coalesceBytes to the latest value per VM and key', () => {
    const { ws, out } = setup();
    out.stats([{ uuid: UUID_A, values: { a: 1 } }]);
    ws.bufferedAmount = 101;
    out.stats([{ uuid: UUID_A, values: { a: 2, b: 1 } }]);
    out.stats([
      { uuid: UUID_A, values: { a: 3 } },
      { uuid: UUID_B, values: { c: 1 } },
    ]);
    assert.equal(ws.sent.length, 1);
    ws.bufferedAmount = 0;
    out.check();
    const last = ws.sent[1];
    assert.deepEqual(last?.type === 'stats' && last.domains, [
      { uuid: UUID_A, values: { a: 3, b: 1 } },
      { uuid: UUID_B, values: { c: 1 } },
    ]);
  });

  it('sends nothing to a closed socket', () => {
    const { ws, out } = setup();
    ws.readyState = 3;
    out.control('{"v":1,"type":"pong"}');
    out.event(entry(1));
    assert.equal(ws.sent.length, 0);
  });
});
