/**
 * Health history in the agent's state directory (`health-history.json`, written atomically,
 * mode 0600): EDAC counter series, so rates and deltas survive counter resets and agent
 * restarts, and each disk's last full SMART reading, so a disk found asleep is judged on what
 * it said last. Bounded: ≤ 640 samples per counter (25 h), ≤ 512 units, ≤ 256 disks,
 * ≤ 4 MiB on disk (series are thinned beyond that).
 */
import { join } from 'node:path';

import { AgentError, ErrorCode } from '../../shared/errors.ts';
import { readStateFile, writeFileAtomic } from '../state/atomic-file.ts';
import {
  countInWindow,
  cumulative,
  DEFAULT_SERIES_LIMITS,
  observeCounter,
  type CounterState,
  type SeriesLimits,
} from './counter-series.ts';
import type { EdacController } from './edac-parse.ts';
import { asReading, emptyHistory, HistoryFileSchema, type HistoryFile } from './history-schema.ts';
import { parseJson, stringifyJson } from './lossless-json.ts';
import { deviceId } from './smart-scan.ts';
import type { SmartReading } from './smart-types.ts';

/** Configuration slice of the history. */
export interface HistoryConfig {
  /** Where the file lives; `null` keeps history in memory only (the one-shot CLI default). */
  readonly stateDir: string | null;
  readonly limits?: SeriesLimits;
  /** @default 512 */
  readonly maxUnits?: number;
  /** @default 256 */
  readonly maxDisks?: number;
  /** @default 4 MiB */
  readonly maxBytes?: number;
}

/** Rates of one counter pair (a DIMM or a controller). */
export interface UnitRates {
  /** Cumulative counts since virt-ft first saw the unit, across counter resets. */
  readonly ce: number | null;
  readonly ue: number | null;
  readonly ceRate1h: number | null;
  readonly ceRate24h: number | null;
  readonly ueRate1h: number | null;
  readonly ueRate24h: number | null;
  /** False when a 24 h rate is an upper bound (no history reaches back 24 h). */
  readonly exact24h: boolean;
}

/** What one EDAC observation added: rates per unit key and the controllers that were reset. */
export interface EdacObservation {
  readonly rates: ReadonlyMap<string, UnitRates>;
  readonly resets: readonly string[];
}

/** Name of the history file in the state directory. */
export const HISTORY_FILE = 'health-history.json';
const HOUR = 3_600_000;

/** See the module comment. */
export class HealthHistory {
  readonly #config: HistoryConfig;
  #data: HistoryFile;
  /** Why the file on disk was not used, if it wasn't. */
  readonly loadProblem: string | null;

  private constructor(config: HistoryConfig, data: HistoryFile, loadProblem: string | null) {
    this.#config = config;
    this.#data = data;
    this.loadProblem = loadProblem;
  }

  /** Loads the file; a missing file is an empty history, a damaged one is replaced (and said so). */
  static async load(config: HistoryConfig): Promise<HealthHistory> {
    if (config.stateDir === null) return new HealthHistory(config, emptyHistory(), null);
    const path = join(config.stateDir, HISTORY_FILE);
    const text = await readStateFile(path, { maxBytes: (config.maxBytes ?? 4 << 20) * 2 });
    if (text === null) return new HealthHistory(config, emptyHistory(), null);
    try {
      const parsed = HistoryFileSchema.safeParse(parseJson(text));
      if (parsed.success) return new HealthHistory(config, parsed.data, null);
      return new HealthHistory(
        config,
        emptyHistory(),
        `${path} has an unexpected shape; starting a new history`,
      );
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return new HealthHistory(
        config,
        emptyHistory(),
        `${path} is not valid JSON (${why}); starting a new history`,
      );
    }
  }

  /** Folds an EDAC reading into the series and returns the rates per unit and per controller. */
  observeEdac(controllers: readonly EdacController[], at: number): EdacObservation {
    const limits = this.#config.limits ?? DEFAULT_SERIES_LIMITS;
    const rates = new Map<string, UnitRates>();
    const resets: string[] = [];
    for (const c of controllers) {
      const prev = this.#data.edac.controllers[c.name];
      const clock = {
        secondsSinceReset: c.secondsSinceReset,
        previousSecondsSinceReset: prev?.ssr ?? null,
      };
      let wasReset = false;
      const pairs: [string, number | null, number | null][] = [
        [c.name, c.ce, c.ue],
        ...c.units.map((u): [string, number | null, number | null] => [u.key, u.ce, u.ue]),
      ];
      for (const [key, ce, ue] of pairs) {
        const old = this.#data.edac.units[key];
        const nce =
          ce === null ? null : observeCounter(old?.ce ?? undefined, ce, at, clock, limits);
        const nue =
          ue === null ? null : observeCounter(old?.ue ?? undefined, ue, at, clock, limits);
        wasReset ||= (nce?.reset ?? false) || (nue?.reset ?? false);
        this.#data.edac.units[key] = { ce: nce?.state ?? null, ue: nue?.state ?? null, seenAt: at };
        rates.set(key, ratesOf(nce?.state ?? null, nue?.state ?? null, at, limits));
      }
      if (wasReset) resets.push(c.name);
      this.#data.edac.controllers[c.name] = { ssr: c.secondsSinceReset, at };
    }
    this.#trimUnits();
    return { rates, resets };
  }

  /** Keeps a full reading (state `ok`) as the disk's last known one. */
  rememberSmart(reading: SmartReading, at: number): void {
    if (reading.state !== 'ok') return;
    this.#data.smart.disks[reading.identity.key] = { at, reading };
    this.#data.smart.paths[pathKey(reading)] = reading.identity.key;
    const newest = Object.entries(this.#data.smart.disks).sort(([, a], [, b]) => b.at - a.at);
    this.#data.smart.disks = Object.fromEntries(newest.slice(0, this.#config.maxDisks ?? 256));
    this.#dropOrphanPaths();
  }

  #dropOrphanPaths(): void {
    const disks = this.#data.smart.disks;
    this.#data.smart.paths = Object.fromEntries(
      Object.entries(this.#data.smart.paths).filter(([, key]) => Object.hasOwn(disks, key)),
    );
  }

  /** The last full reading of the disk `reading` is about (by identity, else by device path). */
  lastSmart(reading: SmartReading): { reading: SmartReading; at: number } | undefined {
    const disks = this.#data.smart.disks;
    const key = Object.hasOwn(disks, reading.identity.key)
      ? reading.identity.key
      : this.#data.smart.paths[pathKey(reading)];
    const hit = key === undefined ? undefined : disks[key];
    return hit === undefined ? undefined : { reading: asReading(hit.reading), at: hit.at };
  }

  /** Writes the file (no-op without a state directory). Throws `VFT_ERR_HEALTH_HISTORY`. */
  async save(at: number = Date.now()): Promise<void> {
    if (this.#config.stateDir === null) return;
    this.#data.savedAt = at;
    let text = stringifyJson(this.#data);
    const maxBytes = this.#config.maxBytes ?? 4 << 20;
    for (let round = 0; Buffer.byteLength(text) > maxBytes && round < 12; round++) {
      this.#thin();
      text = stringifyJson(this.#data);
    }
    try {
      await writeFileAtomic(join(this.#config.stateDir, HISTORY_FILE), `${text}\n`);
    } catch (err) {
      throw new AgentError(
        ErrorCode.HEALTH_HISTORY,
        `Cannot save the health history in ${this.#config.stateDir}`,
        { cause: err },
      );
    }
  }

  /** The data as it would be saved (for tests and debugging). */
  snapshot(): HistoryFile {
    return structuredClone(this.#data);
  }

  #trimUnits(): void {
    const max = this.#config.maxUnits ?? 512;
    const units = Object.entries(this.#data.edac.units).sort(([, a], [, b]) => b.seenAt - a.seenAt);
    if (units.length > max) this.#data.edac.units = Object.fromEntries(units.slice(0, max));
  }

  /** Drops every other inner sample of every series, then the oldest disk readings. */
  #thin(): void {
    for (const u of Object.values(this.#data.edac.units)) {
      for (const s of [u.ce, u.ue]) {
        if (s !== null && s.samples.length > 2) {
          s.samples = s.samples.filter(
            (_, i, all) => i === 0 || i === all.length - 1 || i % 2 === 0,
          );
        }
      }
    }
    const disks = Object.entries(this.#data.smart.disks).sort(([, a], [, b]) => b.at - a.at);
    if (disks.length > 1) this.#data.smart.disks = Object.fromEntries(disks.slice(0, -1));
    this.#dropOrphanPaths();
  }
}

function ratesOf(
  ce: CounterState | null,
  ue: CounterState | null,
  at: number,
  limits: SeriesLimits,
): UnitRates {
  const w = (s: CounterState | null, ms: number): { count: number; covered: boolean } | null =>
    s === null ? null : countInWindow(s, at, ms, limits);
  const ce24 = w(ce, 24 * HOUR);
  const ue24 = w(ue, 24 * HOUR);
  return {
    ce: ce === null ? null : cumulative(ce),
    ue: ue === null ? null : cumulative(ue),
    ceRate1h: w(ce, HOUR)?.count ?? null,
    ceRate24h: ce24?.count ?? null,
    ueRate1h: w(ue, HOUR)?.count ?? null,
    ueRate24h: ue24?.count ?? null,
    exact24h: (ce24?.covered ?? true) && (ue24?.covered ?? true),
  };
}

function pathKey(reading: SmartReading): string {
  if (reading.requested !== undefined) return deviceId(reading.requested);
  const { device, type } = reading.identity;
  return deviceId({ name: device, ...(type === undefined ? {} : { type }) });
}
