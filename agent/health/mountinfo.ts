/**
 * Pure: `/proc/<pid>/mountinfo` (proc(5)) → mounts, and the mount that holds a path.
 * Line: `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL…] - FSTYPE SOURCE SUPEROPTS`.
 */

/** One mount. */
export interface Mount {
  readonly majMin: string;
  readonly mountPoint: string;
  readonly fsType: string;
  readonly source: string;
}

/** Parses mountinfo text; malformed lines are skipped. */
export function parseMountinfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    const majMin = f[2];
    const mountPoint = f[4];
    const fsType = f[dash + 1];
    const source = f[dash + 2];
    if (dash === -1 || majMin === undefined || mountPoint === undefined) continue;
    if (fsType === undefined || source === undefined) continue;
    out.push({ majMin, mountPoint: unescape(mountPoint), fsType, source: unescape(source) });
  }
  return out;
}

/**
 * The mount whose mount point is the longest prefix of `path` (an absolute, normalized path);
 * among equal mount points the last one wins, as a later mount hides an earlier one.
 */
export function mountFor(mounts: readonly Mount[], path: string): Mount | undefined {
  let best: Mount | undefined;
  for (const m of mounts) {
    const prefix = m.mountPoint === '/' ? '/' : `${m.mountPoint}/`;
    if (path !== m.mountPoint && !path.startsWith(prefix)) continue;
    if (best === undefined || m.mountPoint.length >= best.mountPoint.length) best = m;
  }
  return best;
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}
