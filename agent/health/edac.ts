/**
 * EDAC reader: reads `devices/system/edac/mc/mc*` under the injected sysfs root and nothing
 * else (style guide §2.8). "No EDAC here" is a value with its cause — no EDAC directory, or a
 * directory with no controller (ECC off or absent, driver not loaded, firmware-first platform)
 * — and is never reported as "zero errors".
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { AgentError, ErrorCode } from '../../shared/errors.ts';
import {
  CSROW_CHANNEL_FILE,
  CSROW_FILES,
  MC_FILES,
  parseController,
  UNIT_FILES,
  type EdacController,
  type SysfsDir,
} from './edac-parse.ts';
import type { HealthLogger, HealthReader } from './reader.ts';

/** Configuration slice of the EDAC reader. */
export interface EdacReaderConfig {
  /** Root of sysfs; EDAC lives at `${sysfsRoot}/devices/system/edac/mc`. @default '/sys' */
  readonly sysfsRoot: string;
}

/** Why there is no EDAC data. */
export type EdacAbsence = 'edac-absent' | 'edac-no-controllers';

/** What the EDAC reader saw. */
export type EdacReading =
  | { readonly status: 'ok'; readonly at: number; readonly controllers: readonly EdacController[] }
  | {
      readonly status: 'no-data';
      readonly at: number;
      readonly absence: EdacAbsence;
      readonly message: string;
    }
  | { readonly status: 'error'; readonly at: number; readonly message: string };

const MISSING = new Set(['ENOENT', 'ENOTDIR', 'ENODEV', 'ENXIO', 'EOPNOTSUPP']);

/** Reads EDAC memory-controller counters. */
export class EdacReader implements HealthReader<EdacReading> {
  readonly name = 'edac';
  readonly #config: EdacReaderConfig;
  readonly #log: HealthLogger;

  constructor(config: EdacReaderConfig, log: HealthLogger) {
    this.#config = config;
    this.#log = log;
  }

  /** `devices/system/edac/mc` under the sysfs root. */
  get mcDir(): string {
    return join(this.#config.sysfsRoot, 'devices', 'system', 'edac', 'mc');
  }

  async read(signal?: AbortSignal): Promise<EdacReading> {
    const at = Date.now();
    try {
      const names = await listDir(this.mcDir);
      if (names === null) {
        return {
          status: 'no-data',
          at,
          absence: 'edac-absent',
          message: `no EDAC: ${this.mcDir} does not exist (no EDAC driver loaded, or the platform reports memory errors to firmware)`,
        };
      }
      const mcs = names
        .filter((n) => /^mc\d+$/.test(n))
        .sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)));
      if (mcs.length === 0) {
        return {
          status: 'no-data',
          at,
          absence: 'edac-no-controllers',
          message: `no EDAC memory controller in ${this.mcDir} (ECC disabled in the BIOS, non-ECC memory, or the EDAC driver refused to load)`,
        };
      }
      const controllers: EdacController[] = [];
      for (const mc of mcs) {
        signal?.throwIfAborted();
        controllers.push(parseController(mc, await readMc(join(this.mcDir, mc))));
      }
      this.#log.debug({ controllers: controllers.length }, 'edac read');
      return { status: 'ok', at, controllers };
    } catch (err) {
      if (signal?.aborted === true) throw err;
      const wrapped =
        err instanceof AgentError
          ? err
          : new AgentError(ErrorCode.HEALTH_SYSFS, `Cannot read ${this.mcDir}`, { cause: err });
      this.#log.warn({ err: wrapped }, 'edac read failed');
      return { status: 'error', at, message: wrapped.message };
    }
  }
}

async function readMc(dir: string): Promise<SysfsDir> {
  const files = await readFiles(dir, MC_FILES);
  const dirs: Record<string, SysfsDir> = {};
  for (const n of (await listDir(dir)) ?? []) {
    if (/^(dimm|rank)\d+$/.test(n)) {
      dirs[n] = { files: await readFiles(join(dir, n), UNIT_FILES), dirs: {} };
    } else if (/^csrow\d+$/.test(n)) {
      const channelFiles = ((await listDir(join(dir, n))) ?? []).filter((f) =>
        CSROW_CHANNEL_FILE.test(f),
      );
      dirs[n] = {
        files: await readFiles(join(dir, n), [...CSROW_FILES, ...channelFiles]),
        dirs: {},
      };
    }
  }
  return { files, dirs };
}

/** Reads the named files; a missing one is left out (every EDAC file is optional). */
async function readFiles(dir: string, names: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const n of names) {
    try {
      out[n] = await readFile(join(dir, n), 'utf8');
    } catch (err) {
      if (!MISSING.has(errnoOf(err))) {
        throw new AgentError(ErrorCode.HEALTH_SYSFS, `Cannot read ${join(dir, n)}`, { cause: err });
      }
    }
  }
  return out;
}

async function listDir(dir: string): Promise<string[] | null> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (MISSING.has(errnoOf(err))) return null;
    throw new AgentError(ErrorCode.HEALTH_SYSFS, `Cannot list ${dir}`, { cause: err });
  }
}

function errnoOf(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : '';
}
