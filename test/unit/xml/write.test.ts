import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  comment,
  element,
  escapeAttribute,
  escapeText,
  parseXml,
  writeXml,
  XmlWriteError,
  type XmlElement,
} from '../../../agent/xml/index.ts';

describe('writeXml', () => {
  it('escapes every attribute and text value', () => {
    const xml = writeXml(
      element('disk', { type: 'file', note: `a"b'c<d>&e\tf\ng\rh` }, [
        element('source', { file: '/images/x&y.qcow2' }),
        '1 < 2 && 3 > 2\r\n',
      ]),
    );
    assert.equal(
      xml,
      `<disk type="file" note="a&quot;b'c&lt;d&gt;&amp;e&#9;f&#10;g&#13;h">` +
        `<source file="/images/x&amp;y.qcow2"/>1 &lt; 2 &amp;&amp; 3 &gt; 2&#13;\n</disk>`,
    );
  });

  it('leaves out undefined attributes and null/false children, and writes numbers', () => {
    const xml = writeXml(element('a', { x: undefined, n: 3, b: 10n }, [null, false, undefined]));
    assert.equal(xml, '<a n="3" b="10"/>');
  });

  it('adds a declaration and indents element-only content without touching text', () => {
    const xml = writeXml(
      element('domainsnapshot', {}, [element('name', {}, ['  snap 1  ']), comment(' keep ')]),
      { declaration: true, indent: 2 },
    );
    assert.equal(
      xml,
      '<?xml version="1.0" encoding="UTF-8"?>\n<domainsnapshot>\n  <name>  snap 1  </name>\n  <!-- keep -->\n</domainsnapshot>',
    );
    assert.equal(parseXml(xml).root.children.length, 5);
  });

  it('writes a parsed document back to an equivalent document', () => {
    const src = '<?xml version="1.0"?><!--c--><a x="1"><b>t&amp;</b><?p d?></a><!--e-->';
    const doc = parseXml(src);
    const again = parseXml(writeXml(doc, { declaration: true }));
    assert.deepEqual(again.root, doc.root);
    assert.deepEqual(again.prolog, doc.prolog);
    assert.deepEqual(again.epilog, doc.epilog);
  });

  const rejected: [string, () => XmlElement | string, RegExp][] = [
    ['NUL in text', () => element('a', {}, ['x\u0000']), /U\+0000 at index 1/],
    ['U+FFFE in an attribute', () => element('a', { v: '\uFFFE' }), /U\+FFFE/],
    ['a lone surrogate', () => element('a', {}, ['\uDC00']), /U\+DC00/],
    ['a bad element name', () => element('1a'), /element name "1a" is not an XML Name/],
    ['a bad attribute name', () => element('a', { 'b c': '1' }), /attribute name in <a>/],
    ['-- in a comment', () => element('a', {}, [comment('a--b')]), /may not contain '--'/],
    ['a comment ending in -', () => element('a', {}, [comment('a-')]), /end with '-'/],
    ['?> in a PI', () => element('a', {}, [{ kind: 'pi', target: 'p', data: '?>' }]), /'\?>'/],
    [
      'a PI named xml',
      () => element('a', {}, [{ kind: 'pi', target: 'XML', data: '' }]),
      /named xml/,
    ],
  ];
  for (const [what, build, message] of rejected) {
    it(`rejects ${what}`, () => {
      assert.throws(
        () => {
          const node = build();
          return typeof node === 'string' ? node : writeXml(node);
        },
        (err: unknown) =>
          err instanceof XmlWriteError &&
          err.code === 'VFT_ERR_XML_WRITE' &&
          message.test(err.message),
      );
    });
  }

  it('exposes the escapers for callers that write fragments', () => {
    assert.equal(escapeText('<&>'), '&lt;&amp;&gt;');
    assert.equal(escapeAttribute('"\n'), '&quot;&#10;');
    assert.throws(() => escapeText('\u0008'), XmlWriteError);
  });
});
