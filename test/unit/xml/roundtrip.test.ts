import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import {
  attr,
  element,
  isXmlChar,
  parseXml,
  textContent,
  writeXml,
  XmlWriteError,
} from '../../../agent/xml/index.ts';

/** Any code point XML 1.0 can carry, weighted towards the characters escaping must handle. */
const xmlChar = fc.oneof(
  fc.constantFrom('&', '<', '>', '"', "'", '\t', '\n', '\r', ']', ' ', ';', '#'),
  fc.integer({ min: 0x20, max: 0xd7ff }).map((cp) => String.fromCodePoint(cp)),
  fc.integer({ min: 0xe000, max: 0xfffd }).map((cp) => String.fromCodePoint(cp)),
  fc.integer({ min: 0x10000, max: 0x10ffff }).map((cp) => String.fromCodePoint(cp)),
);
const xmlString = fc.string({ unit: xmlChar, maxLength: 40 });

/** A UTF-16 unit or code point XML cannot carry. */
const invalidChar = fc
  .oneof(
    fc.integer({ min: 0, max: 0x1f }).filter((cp) => !isXmlChar(cp)),
    fc.constantFrom(0xfffe, 0xffff),
    fc.integer({ min: 0xd800, max: 0xdfff }),
  )
  .map((unit) => String.fromCharCode(unit));

describe('writer → parser round trip (property)', () => {
  it('returns arbitrary text and attribute values byte-exact', () => {
    fc.assert(
      fc.property(xmlString, xmlString, (value, body) => {
        const xml = writeXml(
          element('a', { v: value }, [body, element('b', { w: body }, [value])]),
        );
        const root = parseXml(xml).root;
        assert.equal(attr(root, 'v'), value);
        assert.equal(textContent(root), body + value);
        const b = root.children.find((c) => c.kind === 'element');
        assert.ok(b?.kind === 'element');
        assert.equal(attr(b, 'w'), body);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects any string holding a character XML cannot represent', () => {
    fc.assert(
      fc.property(xmlString, invalidChar, xmlString, fc.boolean(), (pre, bad, post, asAttr) => {
        const value = pre + bad + post;
        const node = asAttr ? element('a', { v: value }) : element('a', {}, [value]);
        assert.throws(() => writeXml(node), XmlWriteError);
      }),
      { numRuns: 1000 },
    );
  });
});
