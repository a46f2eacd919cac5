/**
 * Pure: the files of one `/sys/devices/system/edac/mc/mcN` directory → a controller with its
 * per-DIMM units. Three layouts exist (kernel ABI sysfs-devices-edac, ras.rst):
 * - `dimmN/` (modern Intel sb/skx/i10nm): one unit per DIMM;
 * - `rankN/` (controllers that cannot identify modules, e.g. AMD): one unit per rank;
 * - legacy `csrowN/` with `chM_ce_count`: one unit per csrow and channel.
 * AMD shows `csrow*` and `rank*` for the same memory with the same counts, so when `dimm*` or
 * `rank*` exist the csrows are ignored (never summed). Every file is optional: HPE ProLiant
 * Gen10/11 has no `ch0_ue_count` (node_exporter #3730).
 */

/** Files of a directory and its subdirectories (one level), as read from sysfs. */
export interface SysfsDir {
  readonly files: Readonly<Record<string, string>>;
  readonly dirs: Readonly<Record<string, SysfsDir>>;
}

/** Which layout a unit came from. */
export type EdacUnitKind = 'dimm' | 'rank' | 'csrow-channel' | 'csrow';

/** One memory unit with its own counters. `null` means the driver does not expose it. */
export interface EdacUnit {
  /** Stable key, e.g. `mc0/dimm3`, `mc0/rank4`, `mc0/csrow1/ch0`. */
  readonly key: string;
  readonly kind: EdacUnitKind;
  readonly label: string | null;
  readonly location: string | null;
  readonly sizeMb: number | null;
  readonly memType: string | null;
  readonly ce: number | null;
  readonly ue: number | null;
}

/** One memory controller. */
export interface EdacController {
  readonly name: string;
  readonly mcName: string | null;
  readonly sizeMb: number | null;
  readonly secondsSinceReset: number | null;
  readonly ce: number | null;
  readonly ue: number | null;
  readonly ceNoinfo: number | null;
  readonly ueNoinfo: number | null;
  /** `none`: only controller counters, no per-DIMM data. */
  readonly layout: 'dimm' | 'rank' | 'dimm+rank' | 'csrow' | 'none';
  readonly units: readonly EdacUnit[];
  /** What was left out or missing, in words. */
  readonly notes: readonly string[];
}

/** The files the reader needs from an `mcN` directory (nothing else is read). */
export const MC_FILES = [
  'ce_count',
  'ue_count',
  'ce_noinfo_count',
  'ue_noinfo_count',
  'seconds_since_reset',
  'mc_name',
  'size_mb',
];
/** Files of `dimmN/` and `rankN/`. */
export const UNIT_FILES = [
  'dimm_ce_count',
  'dimm_ue_count',
  'dimm_label',
  'dimm_location',
  'size',
  'dimm_mem_type',
];
/** Files of `csrowN/` (plus every `chM_ce_count`, `chM_ue_count`, `chM_dimm_label`). */
export const CSROW_FILES = ['ce_count', 'ue_count', 'size_mb', 'mem_type'];
/** Per-channel files of a csrow. */
export const CSROW_CHANNEL_FILE = /^ch(\d+)_(ce_count|ue_count|dimm_label)$/;

/** Parses one controller directory named `name` (e.g. `mc0`). */
export function parseController(name: string, dir: SysfsDir): EdacController {
  const notes: string[] = [];
  const sub = (prefix: string): [string, SysfsDir][] =>
    Object.entries(dir.dirs)
      .filter(([n]) => new RegExp(`^${prefix}\\d+$`).test(n))
      .sort(([a], [b]) => indexOf(a) - indexOf(b));
  const dimms = sub('dimm');
  const ranks = sub('rank');
  const csrows = sub('csrow');
  const units: EdacUnit[] = [];
  for (const [n, d] of [...dimms, ...ranks]) units.push(dimmUnit(name, n, d));
  let layout: EdacController['layout'];
  if (dimms.length > 0 || ranks.length > 0) {
    layout =
      dimms.length > 0 && ranks.length > 0 ? 'dimm+rank' : dimms.length > 0 ? 'dimm' : 'rank';
    if (csrows.length > 0)
      notes.push(
        `${csrows.length} csrow* directories ignored: they count the same memory as ${layout}*`,
      );
  } else if (csrows.length > 0) {
    layout = 'csrow';
    for (const [n, d] of csrows) units.push(...csrowUnits(name, n, d, notes));
  } else {
    layout = 'none';
    notes.push('no dimm*, rank* or csrow* directories: only controller totals are available');
  }
  return {
    name,
    mcName: text(dir.files.mc_name),
    sizeMb: int(dir.files.size_mb),
    secondsSinceReset: int(dir.files.seconds_since_reset),
    ce: int(dir.files.ce_count),
    ue: int(dir.files.ue_count),
    ceNoinfo: int(dir.files.ce_noinfo_count),
    ueNoinfo: int(dir.files.ue_noinfo_count),
    layout,
    units,
    notes,
  };
}

function dimmUnit(mc: string, n: string, d: SysfsDir): EdacUnit {
  return {
    key: `${mc}/${n}`,
    kind: n.startsWith('dimm') ? 'dimm' : 'rank',
    label: text(d.files.dimm_label),
    location: text(d.files.dimm_location),
    sizeMb: int(d.files.size),
    memType: text(d.files.dimm_mem_type),
    ce: int(d.files.dimm_ce_count),
    ue: int(d.files.dimm_ue_count),
  };
}

function csrowUnits(mc: string, n: string, d: SysfsDir, notes: string[]): EdacUnit[] {
  const channels = new Set<number>();
  for (const f of Object.keys(d.files)) {
    const m = CSROW_CHANNEL_FILE.exec(f);
    if (m !== null && m[2] !== 'dimm_label') channels.add(Number(m[1]));
  }
  const base = { sizeMb: int(d.files.size_mb), memType: text(d.files.mem_type) };
  const csrowUe = int(d.files.ue_count);
  if (channels.size === 0) {
    return [
      {
        key: `${mc}/${n}`,
        kind: 'csrow',
        label: null,
        location: n.replace(/(\d+)$/, ' $1'),
        ...base,
        ce: int(d.files.ce_count),
        ue: csrowUe,
      },
    ];
  }
  const out: EdacUnit[] = [];
  for (const ch of [...channels].sort((a, b) => a - b)) {
    let ue = int(d.files[`ch${ch}_ue_count`]);
    if (ue === null && channels.size === 1 && csrowUe !== null) {
      // One channel: the csrow's own ue_count is that channel's.
      ue = csrowUe;
      notes.push(`${n}/ch${ch}_ue_count missing: using ${n}/ue_count (single channel)`);
    } else if (ue === null) {
      notes.push(
        `${n}/ch${ch}_ue_count missing: per-channel UEs unknown (controller ue_count still counts them)`,
      );
    }
    out.push({
      key: `${mc}/${n}/ch${ch}`,
      kind: 'csrow-channel',
      label: text(d.files[`ch${ch}_dimm_label`]),
      location: `${n.replace(/(\d+)$/, ' $1')} channel ${ch}`,
      ...base,
      ce: int(d.files[`ch${ch}_ce_count`]),
      ue,
    });
  }
  return out;
}

function int(s: string | undefined): number | null {
  if (s === undefined) return null;
  const t = s.trim();
  return /^[0-9]+$/.test(t) && Number.isSafeInteger(Number(t)) ? Number(t) : null;
}

function text(s: string | undefined): string | null {
  const t = s?.trim();
  return t === undefined || t === '' ? null : t;
}

function indexOf(name: string): number {
  return Number(/(\d+)$/.exec(name)?.[1] ?? 0);
}
