/**
 * S8, XML construction: names outside the allowlist are rejected; every description that
 * passes validation gives a document that parses strictly to exactly one <domainsnapshot> or
 * <domaincheckpoint> with only the expected children, and comes back byte-exact; no XML is
 * written with template strings in agent/actions.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NAME_RE, validateRequest } from '../../../agent/actions/index.ts';
import {
  checkpointXml,
  parseCheckpointXml,
  parseSnapshotXml,
  qcow2DiskTargets,
  snapshotXml,
} from '../../../agent/actions/xml.ts';
import { childElements, parseXml } from '../../../agent/xml/index.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const RUNS = 10_000;

const request = (params: Record<string, unknown>) => ({
  kind: 'snapshot.create',
  domain: { uuid: '11111111-2222-3333-4444-555555555555' },
  params,
  idempotencyKey: 'k',
  origin: 'admin',
  reason: 'test',
});

/** Hostile text: XML specials, quotes, CDATA ends, controls, bidi, astral and lone surrogates. */
const hostile = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 1200 }),
  fc.string({ unit: 'binary', maxLength: 1200 }),
  fc
    .array(
      fc.constantFrom(
        '<',
        '&',
        ']]>',
        '"',
        "'",
        '\u202e',
        '\u2066',
        '\t',
        '\n',
        '\r',
        '\u0000',
        '\u0085',
        '😀',
        '\ud800',
        '/',
        '-',
        'a',
        '&amp;',
        '<!--',
      ),
      { maxLength: 600 },
    )
    .map((a) => a.join('')),
);

describe('S8: snapshot and checkpoint XML from hostile input', () => {
  it('accepts exactly the names that match the allowlist', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 80 }),
          fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,70}$/),
        ),
        (name) => {
          assert.equal(validateRequest(request({ name })).ok, NAME_RE.test(name));
        },
      ),
      { numRuns: RUNS },
    );
    for (const bad of [
      '',
      '-x',
      '.x',
      '../x',
      'a/b',
      'a b',
      'x'.repeat(65),
      'é',
      'a\u0000',
      '<a>',
    ]) {
      assert.equal(validateRequest(request({ name: bad })).ok, false, JSON.stringify(bad));
    }
  });

  it('every accepted description gives one element with only the expected children, byte-exact', () => {
    let accepted = 0;
    fc.assert(
      fc.property(hostile, fc.boolean(), (description, memory) => {
        const v = validateRequest(request({ description }));
        if (!v.ok) {
          assert.ok(
            Array.from(description).length > 1024 ||
              // eslint-disable-next-line no-control-regex -- the characters validation must refuse
              /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffe\uffff]|\p{Cs}/u.test(description),
          );
          return;
        }
        accepted++;
        for (const [xml, root, children] of [
          [
            snapshotXml({ name: 'vft-x', description, memory }),
            'domainsnapshot',
            memory ? ['name', 'description'] : ['name', 'description', 'memory'],
          ],
          [
            checkpointXml({ name: 'vft-x', description }),
            'domaincheckpoint',
            ['name', 'description'],
          ],
        ] as const) {
          const doc = parseXml(xml);
          assert.equal(doc.root.name, root);
          assert.deepEqual(
            doc.root.children.map((c) => (c.kind === 'element' ? c.name : c.kind)),
            children,
          );
        }
        assert.equal(
          parseSnapshotXml(snapshotXml({ name: 'vft-x', description, memory })).description,
          description,
        );
        assert.equal(
          parseCheckpointXml(checkpointXml({ name: 'vft-x', description })).description,
          description,
        );
      }),
      { numRuns: RUNS },
    );
    assert.ok(accepted > RUNS / 4, `enough accepted cases: ${accepted}`);
  });

  it('the fixed hostile cases of S8', () => {
    const ok = '<b> & ]]> "q" \'a\' \u202Eevil\u202C \ttab\nline 😀 /-';
    assert.equal(validateRequest(request({ description: ok })).ok, true);
    const xml = snapshotXml({ name: 'vft-a', description: ok, memory: true });
    assert.ok(!xml.includes('<b>') && !xml.includes(']]>'), xml);
    assert.equal(parseSnapshotXml(xml).description, ok);
    for (const bad of [
      'x'.repeat(5_000),
      'cr\r',
      'nul\u0000',
      'esc\u001b[31m',
      'lone \ud800',
      'c1 \u0085',
      'fffe \ufffe',
    ]) {
      const v = validateRequest(request({ description: bad }));
      assert.equal(v.ok, false, JSON.stringify(bad.slice(0, 20)));
    }
    assert.equal(
      validateRequest(request({ description: '😀'.repeat(1024) })).ok,
      true,
      '1,024 characters, 2,048 UTF-16 units',
    );
    assert.equal(validateRequest(request({ description: '😀'.repeat(1025) })).ok, false);
  });

  it("reads libvirt's snapshot, checkpoint and domain XML", () => {
    const s = parseSnapshotXml(
      "<domainsnapshot><name>s1</name><description>d</description><state>running</state><parent><name>s0</name></parent><creationTime>1795980607</creationTime><memory snapshot='internal'/><domain><name>x</name></domain></domainsnapshot>",
    );
    assert.deepEqual(s, {
      name: 's1',
      description: 'd',
      state: 'running',
      creationTime: 1795980607,
      parent: 's0',
      memory: true,
    });
    const c = parseCheckpointXml(
      "<domaincheckpoint><name>c2</name><parent><name>c1</name></parent><creationTime>1</creationTime><disks><disk name='vda' checkpoint='bitmap' bitmap='c2' size='65536'/><disk name='vdb' checkpoint='bitmap' size='1'/><disk name='sda' checkpoint='no'/></disks></domaincheckpoint>",
    );
    assert.deepEqual(c, {
      name: 'c2',
      description: null,
      creationTime: 1,
      parent: 'c1',
      sizeBytes: 65537,
    });
    assert.deepEqual(
      qcow2DiskTargets(
        "<domain><devices><disk device='disk'><driver type='qcow2'/><target dev='vda'/></disk><disk device='cdrom'><driver type='raw'/><target dev='hdc'/></disk><disk device='disk'><driver type='raw'/><target dev='vdb'/></disk></devices></domain>",
      ),
      ['vda'],
    );
  });

  it('code scan: no XML in string literals or templates under agent/actions', () => {
    const dir = join(ROOT, 'agent/actions');
    const offenders: string[] = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const src = readFileSync(join(dir, f), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
      for (const m of src.matchAll(/[`'"]\s*<\/?[A-Za-z][^`'"]*/g))
        offenders.push(`${f}: ${m[0].slice(0, 40)}`);
    }
    assert.deepEqual(offenders, []);
    assert.ok(childElements(parseXml('<a/>').root).length === 0);
  });
});
