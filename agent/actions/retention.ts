/**
 * Retention: which of virt-ft's own snapshots or checkpoints to delete so that at most
 * `retain` remain. Oldest first; never a protected name, never `keep` (the one just made), and
 * never one that is not virt-ft's own. Protected ones count towards `retain`.
 */
import { isOwnName } from './names.ts';

export interface Aged {
  readonly name: string;
  /** Seconds since the epoch (libvirt's creationTime). */
  readonly creationTime: number;
}

const collator = new Intl.Collator('en', { numeric: true });

/** Oldest first; within one second, in name order with numeric suffixes compared as numbers. */
export function byAge(a: Aged, b: Aged): number {
  return a.creationTime - b.creationTime || collator.compare(a.name, b.name);
}

/** The names to delete, oldest first. */
export function selectForPruning(
  items: readonly Aged[],
  retain: number,
  protect: ReadonlySet<string>,
  keep: string | null = null,
): string[] {
  const own = items.filter((i) => isOwnName(i.name)).sort(byAge);
  let excess = own.length - retain;
  const out: string[] = [];
  for (const i of own) {
    if (excess <= 0) break;
    if (protect.has(i.name) || i.name === keep) continue;
    out.push(i.name);
    excess--;
  }
  return out;
}
