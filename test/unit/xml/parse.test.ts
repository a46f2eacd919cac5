import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  attr,
  childElements,
  findPath,
  parseXml,
  textContent,
  XmlParseError,
} from '../../../agent/xml/index.ts';

const DOMAIN = `<?xml version="1.0" encoding="UTF-8"?>
<!-- libvirt live XML -->
<domain type='kvm' id="3">
  <name>web-1</name>
  <uuid>6f0c0e4e-1a48-4a0b-9a55-2b1e0b8c1d11</uuid>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/web &amp; co.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <qemu:commandline xmlns:qemu="http://libvirt.org/schemas/domain/qemu/1.0"/>
  </devices>
  <description><![CDATA[a <b>bold</b> ]] note]]></description>
  <?virt-ft keep?>
</domain>
`;

describe('parseXml', () => {
  it('reads elements, attributes, entities, CDATA, comments and PIs of a domain XML', () => {
    const doc = parseXml(DOMAIN);
    assert.deepEqual(doc.declaration, { version: '1.0', encoding: 'UTF-8' });
    assert.equal(doc.prolog.length, 1);
    assert.equal(doc.root.name, 'domain');
    assert.equal(attr(doc.root, 'type'), 'kvm');
    assert.equal(attr(doc.root, 'id'), '3');
    const disk = childElements(findPath(doc.root, 'devices')!, 'disk')[0]!;
    assert.equal(attr(findPath(disk, 'source')!, 'file'), '/var/lib/libvirt/images/web & co.qcow2');
    assert.equal(textContent(findPath(doc.root, 'description')!), 'a <b>bold</b> ]] note');
    assert.equal(findPath(doc.root, 'devices', 'qemu:commandline')?.name, 'qemu:commandline');
    const pi = doc.root.children.find((c) => c.kind === 'pi');
    assert.deepEqual(pi, { kind: 'pi', target: 'virt-ft', data: 'keep' });
  });

  it('decodes the five entities and decimal and hex character references', () => {
    const doc = parseXml('<a v="&lt;&gt;&amp;&apos;&quot;&#65;&#x1F600;">&#x9;&#10;x</a>');
    assert.equal(attr(doc.root, 'v'), `<>&'"A\u{1F600}`);
    assert.equal(textContent(doc.root), '\t\nx');
  });

  it('normalizes line ends in text and whitespace in attribute values', () => {
    const doc = parseXml('<a v="x\r\ny\tz&#10;">1\r\n2\r3</a>');
    assert.equal(attr(doc.root, 'v'), 'x y z\n');
    assert.equal(textContent(doc.root), '1\n2\n3');
  });

  it('keeps an attribute named __proto__ as an ordinary key', () => {
    const doc = parseXml('<a __proto__="x" constructor="y"/>');
    assert.equal(attr(doc.root, '__proto__'), 'x');
    assert.equal(attr(doc.root, 'constructor'), 'y');
    assert.equal(attr(doc.root, 'toString'), undefined);
  });

  it('accepts a byte order mark and names outside ASCII', () => {
    assert.equal(parseXml('\uFEFF<été ñ="1"/>').root.name, 'été');
  });

  const malformed: [string, string, RegExp][] = [
    ['empty input', '', /expected the root element/],
    ['DOCTYPE', '<!DOCTYPE a [<!ENTITY x "y">]><a/>', /DOCTYPE is not accepted/],
    ['unknown entity', '<a>&x;</a>', /unknown entity &x;/],
    ['bare ampersand', '<a>a & b</a>', /'&' must start a reference/],
    ['mismatched end tag', '<a><b></a></b>', /end tag <\/a> does not match start tag <b>/],
    ['unclosed element', '<a><b/>', /<a> is not closed/],
    ['duplicate attribute', '<a x="1" x="2"/>', /attribute x appears twice/],
    ['unquoted attribute', '<a x=1/>', /expected a quoted attribute value/],
    ['< in attribute', '<a x="<"/>', /'<' is not allowed in an attribute value/],
    ['missing space between attributes', '<a x="1"y="2"/>', /expected whitespace/],
    ['two roots', '<a/><b/>', /after the root element/],
    ['text after root', '<a/>x', /after the root element/],
    [']]> in text', '<a>]]></a>', /']]>' is not allowed/],
    ['-- in comment', '<a><!-- a -- b --></a>', /'--' is not allowed inside a comment/],
    ['comment ending in -', '<a><!-- a ---></a>', /'--' is not allowed inside a comment/],
    ['unterminated CDATA', '<a><![CDATA[x</a>', /unterminated CDATA section/],
    ['late XML declaration', '<a><?xml version="1.0"?></a>', /only allowed at the very start/],
    ['NUL character', '<a>\u0000</a>', /U\+0000 is not a valid XML character/],
    ['lone surrogate', '<a>\uD800</a>', /U\+D800 is not a valid XML character/],
    ['reference to an invalid char', '<a>&#0;</a>', /&#0; does not name a valid XML character/],
    ['reference to a surrogate', '<a>&#xD800;</a>', /does not name a valid XML character/],
    ['bad name', '<1a/>', /expected a name/],
    ['bad version', '<?xml version="2.0"?><a/>', /version="1.x"/],
    ['markup declaration in content', '<a><!ELEMENT a ANY></a>', /markup declarations/],
  ];
  for (const [what, input, message] of malformed) {
    it(`rejects ${what} with a clear error`, () => {
      assert.throws(
        () => parseXml(input),
        (err: unknown) =>
          err instanceof XmlParseError &&
          err.code === 'VFT_ERR_XML_PARSE' &&
          message.test(err.message),
      );
    });
  }

  it('reports the line and column of the fault', () => {
    try {
      parseXml('<a>\n  <b>\n  </c>\n</a>');
      assert.fail('expected a parse error');
    } catch (err) {
      assert.ok(err instanceof XmlParseError);
      assert.equal(err.line, 3);
      assert.equal(err.column, 5);
    }
  });

  it('enforces maxDepth and maxLength', () => {
    const deep = '<a>'.repeat(10) + '</a>'.repeat(10);
    assert.equal(parseXml(deep, { maxDepth: 10 }).root.name, 'a');
    assert.throws(() => parseXml(deep, { maxDepth: 9 }), /nest deeper than 9/);
    assert.throws(() => parseXml('<a/>', { maxLength: 3 }), /the limit is 3/);
  });

  it('does not expand entities even when a document tries the billion-laughs shape', () => {
    const lol = '<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><l>&b;</l>';
    assert.throws(() => parseXml(lol), XmlParseError);
  });
});
