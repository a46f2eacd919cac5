/**
 * Character classes of XML 1.0 (Fifth Edition), productions [2] Char, [4] NameStartChar and
 * [4a] NameChar. Code points, not UTF-16 units: a lone surrogate is never a valid Char.
 */

/** True when `cp` matches production [2] Char. */
export function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/** True when `cp` matches production [4] NameStartChar. */
export function isNameStartChar(cp: number): boolean {
  return (
    cp === 0x3a || // ':'
    (cp >= 0x41 && cp <= 0x5a) ||
    cp === 0x5f || // '_'
    (cp >= 0x61 && cp <= 0x7a) ||
    (cp >= 0xc0 && cp <= 0xd6) ||
    (cp >= 0xd8 && cp <= 0xf6) ||
    (cp >= 0xf8 && cp <= 0x2ff) ||
    (cp >= 0x370 && cp <= 0x37d) ||
    (cp >= 0x37f && cp <= 0x1fff) ||
    (cp >= 0x200c && cp <= 0x200d) ||
    (cp >= 0x2070 && cp <= 0x218f) ||
    (cp >= 0x2c00 && cp <= 0x2fef) ||
    (cp >= 0x3001 && cp <= 0xd7ff) ||
    (cp >= 0xf900 && cp <= 0xfdcf) ||
    (cp >= 0xfdf0 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0xeffff)
  );
}

/** True when `cp` matches production [4a] NameChar. */
export function isNameChar(cp: number): boolean {
  return (
    isNameStartChar(cp) ||
    cp === 0x2d || // '-'
    cp === 0x2e || // '.'
    (cp >= 0x30 && cp <= 0x39) ||
    cp === 0xb7 ||
    (cp >= 0x300 && cp <= 0x36f) ||
    (cp >= 0x203f && cp <= 0x2040)
  );
}

/** True when `s` matches production [5] Name. */
export function isXmlName(s: string): boolean {
  let first = true;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (first ? !isNameStartChar(cp) : !isNameChar(cp)) return false;
    first = false;
  }
  return !first;
}

/**
 * Index (in UTF-16 units) of the first character of `s` that is not an XML Char, or -1.
 * Lone surrogates count as invalid.
 */
export function findInvalidChar(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const cp = s.codePointAt(i) ?? 0;
    if (!isXmlChar(cp)) return i;
    if (cp > 0xffff) i++;
  }
  return -1;
}

/** `U+0001`-style name of the code point at `index` of `s`, for error messages. */
export function describeCodePoint(s: string, index: number): string {
  const cp = s.codePointAt(index) ?? 0;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}
