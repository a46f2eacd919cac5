import { XmlScanner } from './scanner.ts';
import {
  emptyAttributes,
  type XmlComment,
  type XmlDeclaration,
  type XmlDocument,
  type XmlElement,
  type XmlNode,
  type XmlProcessingInstruction,
} from './types.ts';

/** Limits that keep a hostile document from exhausting memory or the stack. */
export interface ParseXmlOptions {
  /** Longest accepted input, in UTF-16 units. @default 16_777_216 */
  readonly maxLength?: number;
  /** Deepest accepted element nesting (the root is depth 1). @default 256 */
  readonly maxDepth?: number;
}

const DEFAULT_MAX_LENGTH = 16 * 1024 * 1024;
const DEFAULT_MAX_DEPTH = 256;
const DECL_ORDER = ['version', 'encoding', 'standalone'];

/**
 * Parses a complete XML 1.0 document: elements, attributes, character data, CDATA sections,
 * comments, processing instructions, the five predefined entities and numeric character
 * references. Line ends are normalized to `\n` and attribute values are normalized as the
 * specification requires (literal tab, CR and LF become a space; character references are kept).
 * A DOCTYPE, any other entity, or any other malformed input throws {@link XmlParseError}.
 * Namespaces are not processed: `qemu:commandline` is an element named `qemu:commandline`.
 */
export function parseXml(text: string, options: ParseXmlOptions = {}): XmlDocument {
  const sc = new XmlScanner(text);
  const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
  if (text.length > maxLength) {
    throw sc.fail(`input is ${text.length} characters long; the limit is ${maxLength}`);
  }
  if (text.charCodeAt(0) === 0xfeff) sc.pos = 1; // byte order mark
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const declaration = sc.at('<?xml') && sc.isSpace(sc.pos + 5) ? xmlDecl(sc) : null;
  const prolog = misc(sc);
  if (sc.at('<!DOCTYPE')) throw sc.fail('a DOCTYPE is not accepted (DTDs are not processed)');
  if (!sc.at('<')) throw sc.fail('expected the root element');
  const root = elementAt(sc, 1, maxDepth);
  const epilog = misc(sc);
  if (!sc.done) throw sc.fail('unexpected content after the root element');
  return declaration === null ? { prolog, root, epilog } : { declaration, prolog, root, epilog };
}

function misc(sc: XmlScanner): (XmlComment | XmlProcessingInstruction)[] {
  const out: (XmlComment | XmlProcessingInstruction)[] = [];
  for (;;) {
    sc.skipSpace();
    if (sc.at('<!--')) out.push(commentAt(sc));
    else if (sc.at('<?')) out.push(piAt(sc));
    else return out;
  }
}

function elementAt(sc: XmlScanner, depth: number, maxDepth: number): XmlElement {
  if (depth > maxDepth) throw sc.fail(`elements nest deeper than ${maxDepth}`);
  sc.pos++; // '<'
  const name = sc.name();
  const attributes = emptyAttributes();
  for (;;) {
    const spaced = sc.skipSpace();
    if (sc.at('/>')) {
      sc.pos += 2;
      return { kind: 'element', name, attributes, children: [] };
    }
    if (sc.at('>')) {
      sc.pos++;
      break;
    }
    if (sc.done) throw sc.fail(`unexpected end of input in <${name}>`);
    if (!spaced) throw sc.fail(`expected whitespace, '>' or '/>' in <${name}>`);
    const at = sc.pos;
    const attr = sc.name();
    sc.skipSpace();
    sc.expect('=', `after attribute ${attr}`);
    sc.skipSpace();
    const value = sc.quoted();
    if (Object.hasOwn(attributes, attr)) {
      throw sc.fail(`attribute ${attr} appears twice in <${name}>`, at);
    }
    attributes[attr] = value;
  }
  return { kind: 'element', name, attributes, children: content(sc, name, depth, maxDepth) };
}

function content(sc: XmlScanner, name: string, depth: number, maxDepth: number): XmlNode[] {
  const children: XmlNode[] = [];
  let text = '';
  for (;;) {
    if (sc.done) throw sc.fail(`<${name}> is not closed`);
    if (sc.at('&')) {
      text += sc.reference();
      continue;
    }
    if (!sc.at('<')) {
      text += sc.charData();
      continue;
    }
    if (text !== '') children.push({ kind: 'text', value: text });
    text = '';
    if (sc.at('</')) {
      sc.pos += 2;
      const at = sc.pos;
      const end = sc.name();
      sc.skipSpace();
      sc.expect('>', `to end </${end}>`);
      if (end !== name) throw sc.fail(`end tag </${end}> does not match start tag <${name}>`, at);
      return children;
    }
    if (sc.at('<!--')) children.push(commentAt(sc));
    else if (sc.at('<![CDATA[')) children.push(cdataAt(sc));
    else if (sc.at('<?')) children.push(piAt(sc));
    else if (sc.at('<!')) throw sc.fail('markup declarations are not accepted here');
    else children.push(elementAt(sc, depth + 1, maxDepth));
  }
}

function commentAt(sc: XmlScanner): XmlComment {
  sc.pos += 4;
  const end = sc.text.indexOf('--', sc.pos);
  if (end === -1) throw sc.fail('unterminated comment');
  if (sc.text[end + 2] !== '>') throw sc.fail("'--' is not allowed inside a comment", end);
  return { kind: 'comment', value: sc.until('-->', 'comment') };
}

function cdataAt(sc: XmlScanner): XmlNode {
  sc.pos += 9;
  return { kind: 'text', value: sc.until(']]>', 'CDATA section'), cdata: true };
}

function piAt(sc: XmlScanner): XmlProcessingInstruction {
  sc.pos += 2;
  const at = sc.pos;
  const target = sc.name();
  if (target.toLowerCase() === 'xml') {
    throw sc.fail('the XML declaration is only allowed at the very start', at - 2);
  }
  if (sc.at('?>')) {
    sc.pos += 2;
    return { kind: 'pi', target, data: '' };
  }
  if (!sc.skipSpace()) throw sc.fail(`expected whitespace after <?${target}`);
  return { kind: 'pi', target, data: sc.until('?>', 'processing instruction') };
}

function xmlDecl(sc: XmlScanner): XmlDeclaration {
  sc.pos += 5;
  const values = new Map<string, string>();
  let last = -1;
  for (;;) {
    const spaced = sc.skipSpace();
    if (sc.at('?>')) break;
    if (!spaced) throw sc.fail('expected whitespace in the XML declaration');
    const at = sc.pos;
    const key = sc.name();
    const order = DECL_ORDER.indexOf(key);
    if (order <= last) throw sc.fail(`unexpected ${key} in the XML declaration`, at);
    last = order;
    sc.skipSpace();
    sc.expect('=', `after ${key}`);
    sc.skipSpace();
    values.set(key, sc.quoted());
  }
  sc.pos += 2;
  const version = values.get('version');
  if (version === undefined || !/^1\.[0-9]+$/.test(version)) {
    throw sc.fail('the XML declaration needs version="1.x"');
  }
  const encoding = values.get('encoding');
  const standalone = values.get('standalone');
  if (standalone !== undefined && standalone !== 'yes' && standalone !== 'no') {
    throw sc.fail('standalone must be "yes" or "no"');
  }
  return {
    version,
    ...(encoding === undefined ? {} : { encoding }),
    ...(standalone === undefined ? {} : { standalone: standalone === 'yes' }),
  };
}
