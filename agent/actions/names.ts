/**
 * Snapshot and checkpoint names: the allowlist every name must match, virt-ft's own prefix, and
 * generated names `vft-YYYYMMDDTHHMMSSZ` (UTC), which sort in creation order.
 */

/** Names virt-ft accepts for snapshots and checkpoints (reliability.md §5 S8). */
export { NAME_RE } from '../../shared/text-rules.ts';

/** Snapshots and checkpoints whose name starts with this are virt-ft's own (retention applies). */
export const OWN_PREFIX = 'vft-';

/** True when `name` is virt-ft's own. */
export function isOwnName(name: string): boolean {
  return name.startsWith(OWN_PREFIX);
}

/** `vft-YYYYMMDDTHHMMSSZ` for the UTC second of `epochMs`. */
export function timestampName(epochMs: number): string {
  const iso = new Date(epochMs).toISOString(); // 2026-11-29T19:30:07.603Z
  return `${OWN_PREFIX}${iso.slice(0, 19).replace(/[-:]/g, '')}Z`;
}

/**
 * A generated name for `epochMs` that is in neither `taken` set: the timestamp name, or that
 * name with `-2`, `-3`… when several are made in one second. The suffixed names sort after the
 * plain one, so name order stays creation order.
 */
export function uniqueName(epochMs: number, ...taken: readonly ReadonlySet<string>[]): string {
  const base = timestampName(epochMs);
  const used = (n: string) => taken.some((s) => s.has(n));
  if (!used(base)) return base;
  for (let i = 2; ; i++) {
    const n = `${base}-${i}`;
    if (!used(n)) return n;
  }
}
