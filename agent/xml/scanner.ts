import { describeCodePoint, isNameChar, isNameStartChar, isXmlChar } from './chars.ts';
import { XmlParseError } from './types.ts';

const PREDEFINED: Readonly<Record<string, string>> = {
  lt: '<',
  gt: '>',
  amp: '&',
  apos: "'",
  quot: '"',
};

/**
 * The character level of the parser: a cursor over the input with the lexical productions
 * (names, references, quoted values, runs of checked characters) and positioned errors.
 * Every character that is consumed is checked against production [2] Char.
 */
export class XmlScanner {
  readonly text: string;
  /** Cursor, in UTF-16 units. */
  pos = 0;

  constructor(text: string) {
    this.text = text;
  }

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  at(token: string): boolean {
    return this.text.startsWith(token, this.pos);
  }

  expect(token: string, context: string): void {
    if (!this.at(token)) throw this.fail(`expected '${token}' ${context}`);
    this.pos += token.length;
  }

  isSpace(i: number): boolean {
    const c = this.text.charCodeAt(i);
    return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
  }

  /** Skips production [3] S; true when at least one character was skipped. */
  skipSpace(): boolean {
    const start = this.pos;
    while (this.isSpace(this.pos)) this.pos++;
    return this.pos > start;
  }

  /** Production [5] Name. */
  name(): string {
    const start = this.pos;
    const first = this.text.codePointAt(this.pos);
    if (first === undefined || !isNameStartChar(first)) throw this.fail('expected a name');
    this.pos += first > 0xffff ? 2 : 1;
    for (;;) {
      const cp = this.text.codePointAt(this.pos);
      if (cp === undefined || !isNameChar(cp)) return this.text.slice(start, this.pos);
      this.pos += cp > 0xffff ? 2 : 1;
    }
  }

  /** Width in UTF-16 units of the valid character at the cursor; throws on an invalid one. */
  charWidth(): number {
    const code = this.text.charCodeAt(this.pos);
    if (code >= 0x20 && code < 0xd800) return 1;
    const cp = this.text.codePointAt(this.pos) ?? 0;
    if (!isXmlChar(cp)) {
      throw this.fail(`${describeCodePoint(this.text, this.pos)} is not a valid XML character`);
    }
    return cp > 0xffff ? 2 : 1;
  }

  /** Character data up to `<` or `&`, line ends normalized; rejects `]]>`. */
  charData(): string {
    let out = '';
    let start = this.pos;
    const s = this.text;
    while (this.pos < s.length) {
      const code = s.charCodeAt(this.pos);
      if (code === 0x3c || code === 0x26) break;
      if (code === 0x0d) {
        out += s.slice(start, this.pos) + '\n';
        this.pos += s.charCodeAt(this.pos + 1) === 0x0a ? 2 : 1;
        start = this.pos;
        continue;
      }
      if (code === 0x5d && this.at(']]>'))
        throw this.fail("']]>' is not allowed in character data");
      this.pos += this.charWidth();
    }
    return out + s.slice(start, this.pos);
  }

  /** Text up to `terminator` (consumed, not returned), line ends normalized, characters checked. */
  until(terminator: string, what: string): string {
    const end = this.text.indexOf(terminator, this.pos);
    if (end === -1) throw this.fail(`unterminated ${what}`);
    let out = '';
    let start = this.pos;
    while (this.pos < end) {
      if (this.text.charCodeAt(this.pos) === 0x0d) {
        out += this.text.slice(start, this.pos) + '\n';
        this.pos += this.text.charCodeAt(this.pos + 1) === 0x0a ? 2 : 1;
        start = this.pos;
      } else {
        this.pos += this.charWidth();
      }
    }
    out += this.text.slice(start, end);
    this.pos = end + terminator.length;
    return out;
  }

  /** Production [10] AttValue, normalized: literal TAB, LF, CR and CRLF become one space. */
  quoted(): string {
    const quote = this.text[this.pos];
    if (quote !== '"' && quote !== "'") throw this.fail('expected a quoted attribute value');
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) throw this.fail('unterminated attribute value');
      if (c === quote) {
        this.pos++;
        return out;
      }
      if (c === '<') throw this.fail("'<' is not allowed in an attribute value");
      if (c === '&') {
        out += this.reference();
      } else if (c === '\r') {
        out += ' ';
        this.pos += this.text[this.pos + 1] === '\n' ? 2 : 1;
      } else if (c === '\n' || c === '\t') {
        out += ' ';
        this.pos++;
      } else {
        const w = this.charWidth();
        out += this.text.slice(this.pos, this.pos + w);
        this.pos += w;
      }
    }
  }

  /** A reference at the cursor: one of the five predefined entities or `&#N;` / `&#xH;`. */
  reference(): string {
    const at = this.pos;
    const end = this.text.indexOf(';', at);
    const body = end === -1 ? '' : this.text.slice(at + 1, end);
    if (end === -1 || end - at > 12 || body === '') {
      throw this.fail("'&' must start a reference such as &amp; or &#38;", at);
    }
    this.pos = end + 1;
    const dec = /^#([0-9]{1,7})$/.exec(body);
    const hex = /^#x([0-9a-fA-F]{1,6})$/.exec(body);
    if (dec !== null || hex !== null) {
      const cp = dec !== null ? Number(dec[1]) : parseInt(hex?.[1] ?? '', 16);
      if (!isXmlChar(cp)) throw this.fail(`&${body}; does not name a valid XML character`, at);
      return String.fromCodePoint(cp);
    }
    if (!Object.hasOwn(PREDEFINED, body)) {
      throw this.fail(
        `unknown entity &${body}; (only the five predefined entities and character references are accepted)`,
        at,
      );
    }
    return PREDEFINED[body] ?? '';
  }

  /** An error positioned at `at` (default: the cursor), with 1-based line and column. */
  fail(message: string, at = this.pos): XmlParseError {
    let line = 1;
    let lineStart = 0;
    for (let k = 0; k < at && k < this.text.length; k++) {
      const c = this.text.charCodeAt(k);
      if (c === 0x0a || (c === 0x0d && this.text.charCodeAt(k + 1) !== 0x0a)) {
        line++;
        lineStart = k + 1;
      }
    }
    return new XmlParseError(message, line, at - lineStart + 1);
  }
}
