/**
 * A small strict XML 1.0 parser and an escaping writer, for libvirt domain, snapshot and
 * checkpoint XML. No DTDs, no external entities, no namespace processing.
 *
 * ```ts
 * const doc = parseXml(domainXml);
 * const disks = childElements(findPath(doc.root, 'devices')!, 'disk');
 * const xml = writeXml(element('domainsnapshot', {}, [element('name', {}, [name])]));
 * ```
 */
export { parseXml, type ParseXmlOptions } from './parse.ts';
export {
  comment,
  element,
  escapeAttribute,
  escapeText,
  text,
  writeXml,
  type WriteXmlOptions,
  type XmlAttributeValue,
  type XmlChild,
} from './write.ts';
export { attr, childElements, findPath, firstChild, textContent } from './query.ts';
export { isXmlChar, isXmlName } from './chars.ts';
export {
  XmlParseError,
  XmlWriteError,
  type XmlComment,
  type XmlDeclaration,
  type XmlDocument,
  type XmlElement,
  type XmlNode,
  type XmlProcessingInstruction,
  type XmlText,
} from './types.ts';
