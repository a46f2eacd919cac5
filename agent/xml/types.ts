import { AgentError, ErrorCode } from '../../shared/errors.ts';

/**
 * The node model shared by the parser and the writer. Attribute maps have no prototype, so an
 * attribute named `__proto__` or `constructor` is an ordinary key.
 */
export type XmlNode = XmlElement | XmlText | XmlComment | XmlProcessingInstruction;

/** An element: its qualified name as written (no namespace processing), attributes, children. */
export interface XmlElement {
  readonly kind: 'element';
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly XmlNode[];
}

/** Character data. `cdata` is true when the parser read it from a CDATA section. */
export interface XmlText {
  readonly kind: 'text';
  readonly value: string;
  readonly cdata?: boolean;
}

/** A comment, without the `<!--` and `-->` delimiters. */
export interface XmlComment {
  readonly kind: 'comment';
  readonly value: string;
}

/** A processing instruction `<?target data?>`. */
export interface XmlProcessingInstruction {
  readonly kind: 'pi';
  readonly target: string;
  readonly data: string;
}

/** The XML declaration's pseudo-attributes, when the document has one. */
export interface XmlDeclaration {
  readonly version: string;
  readonly encoding?: string;
  readonly standalone?: boolean;
}

/** A whole document: the root element plus comments and PIs before and after it. */
export interface XmlDocument {
  readonly declaration?: XmlDeclaration;
  readonly prolog: readonly (XmlComment | XmlProcessingInstruction)[];
  readonly root: XmlElement;
  readonly epilog: readonly (XmlComment | XmlProcessingInstruction)[];
}

/** Malformed input; `line` and `column` are 1-based and count UTF-16 units. */
export class XmlParseError extends AgentError {
  readonly line: number;
  readonly column: number;
  constructor(message: string, line: number, column: number) {
    super(ErrorCode.XML_PARSE, `Cannot parse XML at line ${line}, column ${column}: ${message}`);
    this.line = line;
    this.column = column;
  }
}

/** A value the writer refuses to serialize (invalid character, bad name, `--` in a comment). */
export class XmlWriteError extends AgentError {
  constructor(message: string) {
    super(ErrorCode.XML_WRITE, `Cannot write XML: ${message}`);
  }
}

/** A prototype-less attribute map, so parsed keys never collide with Object.prototype. */
export function emptyAttributes(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}
