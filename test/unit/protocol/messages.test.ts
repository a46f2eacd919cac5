import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClientMessage,
  ServerMessage,
  encodeMessage,
  parseClientMessage,
  parseServerMessage,
} from '../../../shared/protocol/index.ts';
import { CLIENT, SERVER, UUID } from './examples.ts';

/** The client example `name` with `patch` applied on top (shallow, with `params` merged). */
function client(name: string, patch: Record<string, unknown>): string {
  const base = CLIENT[name] as unknown as Record<string, unknown>;
  const params =
    patch['params'] === undefined
      ? base['params']
      : { ...(base['params'] as object), ...(patch['params'] as object) };
  return JSON.stringify({ ...base, ...patch, ...(params === undefined ? {} : { params }) });
}

function rejects(text: string, why: RegExp): void {
  const r = parseClientMessage(text);
  assert.ok(!r.ok, `accepted: ${text.slice(0, 200)}`);
  assert.equal(r.error.code, 'VFT_ERR_STREAM_BAD_MESSAGE', r.error.message);
  assert.match(r.error.message, why);
}

describe('protocol messages', () => {
  for (const [name, m] of Object.entries(CLIENT)) {
    it(`parses the client message ${name}, and only as a client message`, () => {
      const r = parseClientMessage(encodeMessage(m));
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.deepEqual(r.message, m);
      assert.ok(!ServerMessage.safeParse(m).success);
    });
  }
  for (const [name, m] of Object.entries(SERVER)) {
    it(`parses the server message ${name}, and only as a server message`, () => {
      const r = parseServerMessage(encodeMessage(m));
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.deepEqual(r.message, m);
      assert.ok(!ClientMessage.safeParse(m).success);
    });
  }

  it('refuses unknown keys and unknown types and actions', () => {
    rejects(client('ping', { admin: true }), /Unrecognized key/);
    rejects(client('ping', { type: 'teleport' }), /type/);
    rejects(client('domain.start', { action: 'domain.migrate' }), /action/);
    rejects(client('domain.start', { params: { force: true } }), /Unrecognized key/);
    rejects(
      client('domain.start', { domain: { uuid: UUID, xml: '<domain/>' } }),
      /Unrecognized key/,
    );
  });

  it('bounds ids, keys, uuids and seqs', () => {
    rejects(client('ping', { id: 'x'.repeat(65) }), /id/);
    rejects(client('ping', { id: '-starts-with-dash' }), /id/);
    rejects(client('domain.start', { key: 'has space' }), /key/);
    rejects(client('domain.start', { key: 'k'.repeat(129) }), /key/);
    rejects(client('domain.start', { key: '' }), /key/);
    rejects(client('domain.start', { domain: { uuid: 'not-a-uuid' } }), /uuid/);
    rejects(client('domain.start', { domain: { uuid: UUID, name: 'n'.repeat(257) } }), /name/);
    rejects(client('resume', { fromSeq: -1 }), /fromSeq/);
    rejects(client('resume', { fromSeq: 1.5 }), /fromSeq/);
    rejects(client('resume', { fromSeq: 2 ** 53 }), /fromSeq/);
    rejects(client('resume', { epoch: undefined }), /fromSeq and epoch/);
    rejects(client('domain.start', { deadlineMs: 0 }), /deadlineMs/);
  });

  it('validates names and descriptions as the executor does', () => {
    for (const name of ['../etc', '-rf', '.hidden', 'a/b', 'x'.repeat(65), "x' or '1", 'ü', ''])
      rejects(client('snapshot.create', { params: { name } }), /params\.name/);
    assert.ok(parseClientMessage(client('snapshot.create', { params: { name: 'A0._-z' } })).ok);
    rejects(client('snapshot.create', { params: { description: 'bell\u0007' } }), /description/);
    rejects(client('snapshot.create', { params: { description: 'c1 \u0085' } }), /description/);
    rejects(
      client('snapshot.create', { params: { description: 'lone \ud800 surrogate' } }),
      /surrogate/,
    );
    rejects(
      client('snapshot.create', { params: { description: 'x'.repeat(1025) } }),
      /description/,
    );
    rejects(
      client('snapshot.create', { params: { description: '😀'.repeat(1025) } }),
      /1024 characters/,
    );
    assert.ok(
      parseClientMessage(client('snapshot.create', { params: { description: '😀'.repeat(1024) } }))
        .ok,
    );
    rejects(
      client('snapshot.create', {
        params: { protect: Array.from({ length: 101 }, (_, i) => `s${i}`) },
      }),
      /protect/,
    );
    rejects(client('snapshot.create', { params: { retain: 0 } }), /retain/);
    rejects(client('snapshot.delete', { params: { retain: undefined } }), /needs params.name/);
    rejects(client('snapshot.revert', { params: { name: undefined } }), /name/);
    rejects(
      client('domain.restart', { params: { gracefulTimeoutMs: 3_600_001 } }),
      /gracefulTimeoutMs/,
    );
    rejects(client('domain.start', { reason: '   ' }), /blank/);
  });

  it('bounds policy objects and refuses a policy that is not an object', () => {
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 1]));
    rejects(client('policy.set', { params: { policy: many } }), /32 keys/);
    rejects(client('policy.set', { params: { policy: 'high' } }), /policy/);
    rejects(client('policy.set', { params: { policy: [1] } }), /policy/);
  });

  it('bounds what the agent sends too', () => {
    const bad = [
      { ...SERVER['gap'], reason: 'because' },
      { ...SERVER['domain'], seq: 0 },
      { ...SERVER['hello'], capabilities: ['telepathy'] },
      { ...SERVER['error'], message: 'x'.repeat(4097) },
      { ...SERVER['stats'], domains: [{ uuid: UUID, values: { deep: { x: 1 } } }] },
      { ...SERVER['decision'], reasons: Array.from({ length: 33 }, () => 'r') },
    ];
    for (const m of bad)
      assert.ok(!parseServerMessage(JSON.stringify(m)).ok, JSON.stringify(m).slice(0, 80));
  });
});
