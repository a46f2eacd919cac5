import { describeCodePoint, findInvalidChar, isXmlName } from './chars.ts';
import {
  emptyAttributes,
  XmlWriteError,
  type XmlComment,
  type XmlDocument,
  type XmlElement,
  type XmlNode,
  type XmlProcessingInstruction,
  type XmlText,
} from './types.ts';

/** What a call site may pass as an attribute value; `undefined` leaves the attribute out. */
export type XmlAttributeValue = string | number | bigint | undefined;

/** What a call site may pass as a child; strings become text, `null`/`undefined`/`false` are skipped. */
export type XmlChild = XmlNode | string | null | undefined | false;

/** Options of {@link writeXml}. */
export interface WriteXmlOptions {
  /** Start with `<?xml version="1.0" encoding="UTF-8"?>` and a newline. @default false */
  readonly declaration?: boolean;
  /**
   * Spaces per nesting level. Only elements whose children are all elements, comments or PIs
   * are indented, so text content is never changed. @default 0 (no added whitespace)
   */
  readonly indent?: number;
}

/**
 * Builds an element node. Values are escaped by {@link writeXml}, never here, so a call site
 * can't forget: `element('source', { file: path })` is safe for any path.
 */
export function element(
  name: string,
  attributes: Readonly<Record<string, XmlAttributeValue>> = {},
  children: readonly XmlChild[] = [],
): XmlElement {
  const attrs = emptyAttributes();
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined) attrs[key] = String(value);
  }
  const nodes: XmlNode[] = [];
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    nodes.push(typeof child === 'string' ? text(child) : child);
  }
  return { kind: 'element', name, attributes: attrs, children: nodes };
}

/** A text node (always written escaped, never as CDATA). */
export function text(value: string): XmlText {
  return { kind: 'text', value };
}

/** A comment node; {@link writeXml} rejects `--` inside it or a trailing `-`. */
export function comment(value: string): XmlComment {
  return { kind: 'comment', value };
}

/**
 * Serializes an element or a document. Every attribute value and text is escaped so that
 * {@link parseXml} returns it unchanged: `& < > "` and the tab, LF and CR characters that
 * attribute-value and line-end normalization would otherwise rewrite. Throws
 * {@link XmlWriteError} for characters XML cannot represent (e.g. U+0000, U+FFFE, lone
 * surrogates), invalid names, and comments or PIs that would end early.
 */
export function writeXml(node: XmlElement | XmlDocument, options: WriteXmlOptions = {}): string {
  const indent = options.indent ?? 0;
  const out: string[] = [];
  if (options.declaration === true) out.push('<?xml version="1.0" encoding="UTF-8"?>\n');
  if ('kind' in node) {
    writeNode(node, out, indent, 0);
  } else {
    for (const n of node.prolog) {
      writeNode(n, out, indent, 0);
      out.push('\n');
    }
    writeNode(node.root, out, indent, 0);
    for (const n of node.epilog) {
      out.push('\n');
      writeNode(n, out, indent, 0);
    }
  }
  return out.join('');
}

/** Escapes character data; throws on characters that are not XML Chars. */
export function escapeText(value: string): string {
  checkChars(value, 'text');
  return value.replace(/[&<>\r]/g, (c) => TEXT_ESCAPES[c] ?? c);
}

/** Escapes a value for a double-quoted attribute; throws on characters that are not XML Chars. */
export function escapeAttribute(value: string): string {
  checkChars(value, 'attribute value');
  return value.replace(/[&<>"\t\n\r]/g, (c) => ATTR_ESCAPES[c] ?? c);
}

const TEXT_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '\r': '&#13;',
};
const ATTR_ESCAPES: Readonly<Record<string, string>> = {
  ...TEXT_ESCAPES,
  '"': '&quot;',
  '\t': '&#9;',
  '\n': '&#10;',
};

function writeNode(node: XmlNode, out: string[], indent: number, depth: number): void {
  switch (node.kind) {
    case 'text':
      out.push(escapeText(node.value));
      return;
    case 'comment':
      out.push(`<!--${checkComment(node)}-->`);
      return;
    case 'pi':
      out.push(`<?${checkPi(node)}?>`);
      return;
    case 'element':
      writeElement(node, out, indent, depth);
      return;
  }
}

function writeElement(el: XmlElement, out: string[], indent: number, depth: number): void {
  checkName(el.name, 'element name');
  out.push('<', el.name);
  for (const [key, value] of Object.entries(el.attributes)) {
    checkName(key, `attribute name in <${el.name}>`);
    out.push(' ', key, '="', escapeAttribute(value), '"');
  }
  if (el.children.length === 0) {
    out.push('/>');
    return;
  }
  out.push('>');
  const pretty = indent > 0 && el.children.every((c) => c.kind !== 'text');
  for (const child of el.children) {
    if (pretty) out.push('\n', ' '.repeat(indent * (depth + 1)));
    writeNode(child, out, indent, depth + 1);
  }
  if (pretty) out.push('\n', ' '.repeat(indent * depth));
  out.push('</', el.name, '>');
}

function checkChars(value: string, what: string): void {
  const bad = findInvalidChar(value);
  if (bad !== -1) {
    throw new XmlWriteError(
      `${what} contains ${describeCodePoint(value, bad)} at index ${bad}, which XML 1.0 cannot represent`,
    );
  }
}

function checkName(name: string, what: string): void {
  if (!isXmlName(name))
    throw new XmlWriteError(`${what} ${JSON.stringify(name)} is not an XML Name`);
}

function checkComment(node: XmlComment): string {
  checkChars(node.value, 'comment');
  if (node.value.includes('--') || node.value.endsWith('-')) {
    throw new XmlWriteError("a comment may not contain '--' or end with '-'");
  }
  return node.value;
}

function checkPi(node: XmlProcessingInstruction): string {
  checkName(node.target, 'processing-instruction target');
  if (node.target.toLowerCase() === 'xml') {
    throw new XmlWriteError('a processing instruction may not be named xml');
  }
  checkChars(node.data, 'processing instruction');
  if (node.data.includes('?>'))
    throw new XmlWriteError("a processing instruction may not contain '?>'");
  return node.data === '' ? node.target : `${node.target} ${node.data}`;
}
