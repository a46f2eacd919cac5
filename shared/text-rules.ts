/**
 * The rules for names and free text that both the action executor (agent/actions/validate.ts)
 * and the wire protocol (shared/protocol/fields.ts) enforce: one definition, so a command the
 * protocol accepts is never refused later for its form.
 */

/** Snapshot and checkpoint names (reliability.md §5 S8): safe in XML, file names and logs. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A domain UUID, 8-4-4-4-12 hex, either case (no regex flags: it also goes into JSON Schema). */
export const UUID_RE =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * Characters free text may not hold: C0 controls but tab and LF, DEL, C1 controls, the two
 * non-characters XML forbids, and lone surrogates.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const BAD_TEXT_RE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffe\uffff]|\p{Cs}/u;

/** Free text as a positive pattern (for JSON Schema, which has no lookahead or `u` flag); lone
 * surrogates must be checked apart, with {@link LONE_SURROGATE_RE}. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const CLEAN_TEXT_RE = /^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffe\uffff]*$/;
export const LONE_SURROGATE_RE = /\p{Cs}/u;

/** The same for a single line: no tab or LF either. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const BAD_LINE_RE = /[\u0000-\u001f\u007f-\u009f\ufffe\uffff]|\p{Cs}/u;

/** Longest description or reason, in characters (code points). */
export const MAX_TEXT_CHARS = 1024;

/** Length in code points (what "characters" means for the limits). */
export function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}
