import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { LibvirtProtocolError } from '../../../../agent/libvirt/errors.ts';
import {
  ALL_EVENT_NAMES,
  DEFAULT_EVENT_NAMES,
  EVENT_SPECS,
  eventSpecByProc,
} from '../../../../agent/libvirt/events/decode.ts';
import type { DomainEventName } from '../../../../agent/libvirt/events/decode.ts';
import { XdrReader } from '../../../../agent/libvirt/xdr/reader.ts';
import { EVENT_CASES } from '../../../fixtures/xdr/events.ts';
import { arr, cat, dom, i32, optStr, str, TEST_UUID, tp } from '../../../helpers/xdr-builders.ts';

const TIME = new Date(1_700_000_000_000);

function decode(name: DomainEventName, payload: Buffer, callbackId = 7): Record<string, unknown> {
  const r = new XdrReader(payload);
  const e = EVENT_SPECS[name].decode(r, callbackId, TIME);
  r.done(name);
  return e as unknown as Record<string, unknown>;
}

describe('event decoders', () => {
  it('cover exactly the events in the fixture table', () => {
    assert.deepEqual([...ALL_EVENT_NAMES].sort(), EVENT_CASES.map((c) => c.name).sort());
    for (const name of DEFAULT_EVENT_NAMES) assert.ok(ALL_EVENT_NAMES.includes(name), name);
  });

  for (const c of EVENT_CASES) {
    it(`decodes ${c.name} (event ID ${c.eventId}, message proc ${c.proc})`, () => {
      const spec = EVENT_SPECS[c.name as DomainEventName];
      assert.equal(spec.id, c.eventId, 'registration event ID (§5.10)');
      assert.equal(spec.proc, c.proc, 'message procedure (§5.10)');
      assert.equal(eventSpecByProc(c.proc), spec);
      assert.deepEqual(decode(c.name as DomainEventName, c.payload, 7), {
        callbackId: 7,
        domain: { name: 'test', uuid: TEST_UUID, id: 1 },
        time: TIME,
        event: c.name,
        ...c.fields,
      });
    });

    it(`rejects every truncation of ${c.name} with LibvirtProtocolError`, () => {
      for (let cut = 0; cut < c.payload.length; cut++) {
        assert.throws(
          () => decode(c.name as DomainEventName, c.payload.subarray(0, cut)),
          LibvirtProtocolError,
          `cut at ${cut}`,
        );
      }
    });
  }

  it('names values past the end of an enum Unknown(n) instead of throwing', () => {
    assert.deepEqual(pick(decode('lifecycle', cat(dom(), i32(42), i32(7))), 'type', 'detail'), {
      type: 'Unknown(42)',
      detail: 'Unknown(7)',
    });
    assert.deepEqual(pick(decode('lifecycle', cat(dom(), i32(0), i32(99))), 'type', 'detail'), {
      type: 'Defined',
      detail: 'Unknown(99)',
    });
    assert.equal(decode('watchdog', cat(dom(), i32(-1)))['type'], 'Unknown(-1)');
    assert.deepEqual(
      pick(decode('block-job-2', cat(dom(), str(''), i32(6), i32(9))), 'type', 'detail', 'disk'),
      {
        type: 'Unknown(6)',
        detail: 'Unknown(9)',
        disk: '',
      },
    );
  });

  it('leaves job-completed type and detail null without operation or success', () => {
    const e = decode(
      'job-completed',
      cat(dom(), arr([tp.string('operation', 'odd'), tp.int('success', 1)])),
    );
    assert.deepEqual(pick(e, 'type', 'detail'), { type: null, detail: null });
    assert.deepEqual({ ...(e['params'] as object) }, { operation: 'odd', success: 1 });
    assert.equal(
      decode('job-completed', cat(dom(), arr([tp.boolean('success', false)])))['detail'],
      'Failed',
    );
  });

  it('reads an absent metadata namespace as null', () => {
    const e = decode('metadata-change', cat(dom(), i32(0), optStr(null)));
    assert.deepEqual(pick(e, 'metadataType', 'nsUri', 'type', 'detail'), {
      metadataType: 0,
      nsUri: null,
      type: 'Description',
      detail: null,
    });
  });

  it('refuses more job-completed params than JOB_STATS_MAX (64)', () => {
    const many = Array.from({ length: 65 }, (_, i) => tp.int(`p${i}`, i));
    assert.throws(() => decode('job-completed', cat(dom(), arr(many))), /65 exceeds maximum 64/);
  });
});

function pick(o: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}
