/**
 * SMART reader: discovers devices with `smartctl --scan-open` (RAID pass-through types such as
 * `megaraid,N` included) plus any physical block device the scan missed (a virtio disk, an
 * unknown USB bridge), so that every disk gets a line — "unknown" with smartctl's own message
 * when SMART can't be read — instead of silently disappearing.
 */
import { AgentError, ErrorCode } from '../../shared/errors.ts';
import { blockNamesForSmartDevice, BlockTopology } from './block-topology.ts';
import { parseJson } from './lossless-json.ts';
import type { HealthLogger, HealthReader } from './reader.ts';
import { failedReading, readingFromText } from './smart-parse.ts';
import { deviceId, isScanDocument, parseScan, type SmartDevice } from './smart-scan.ts';
import type { SmartReading } from './smart-types.ts';
import { Smartctl, type SmartctlConfig, type SmartctlRun } from './smartctl.ts';

/** Configuration slice of the SMART reader. */
export interface SmartReaderConfig extends SmartctlConfig {
  /** Root of sysfs, for block devices the scan misses. @default '/sys' */
  readonly sysRoot: string;
  /** Devices to read in addition to the scan (e.g. `cciss,N`, which the scan never lists). */
  readonly extraDevices?: readonly SmartDevice[];
}

/** What the SMART reader saw. `no-data`: no device to ask at all. */
export interface SmartResult {
  readonly status: 'ok' | 'no-data' | 'error';
  readonly at: number;
  readonly readings: readonly SmartReading[];
  /** Devices from the scan, and block devices added because the scan missed them. */
  readonly discovery: {
    readonly scanned: readonly SmartDevice[];
    readonly fromSysfs: readonly string[];
  };
  /** One line for `error` / `no-data`, or notes such as "scan failed". */
  readonly message?: string;
}

/** Reads SMART data of every disk on the host. */
export class SmartReader implements HealthReader<SmartResult> {
  readonly name = 'smart';
  readonly #config: SmartReaderConfig;
  readonly #log: HealthLogger;
  readonly #smartctl: Smartctl;

  constructor(config: SmartReaderConfig, log: HealthLogger, smartctl?: Smartctl) {
    this.#config = config;
    this.#log = log;
    this.#smartctl = smartctl ?? new Smartctl(config, log);
  }

  async read(signal?: AbortSignal): Promise<SmartResult> {
    const at = Date.now();
    let scanned: SmartDevice[] = [];
    let scanNote: string | undefined;
    try {
      const run = await this.#smartctl.scan(signal);
      const doc = parseJson(run.stdout);
      if (!isScanDocument(doc)) throw new Error('the scan output is not a smartctl scan document');
      scanned = parseScan(doc);
    } catch (err) {
      if (signal?.aborted === true) throw err;
      if (err instanceof AgentError)
        return {
          status: 'error',
          at,
          readings: [],
          discovery: { scanned, fromSysfs: [] },
          message: err.message,
        };
      scanNote = `smartctl --scan-open failed: ${err instanceof Error ? err.message : String(err)}`;
      this.#log.warn({ err }, scanNote);
    }
    const topology = await BlockTopology.load(this.#config.sysRoot);
    const covered = new Set(scanned.flatMap((d) => blockNamesForSmartDevice(d.name, topology)));
    const fromSysfs = topology
      .physicalDisks()
      .map((d) => d.name)
      .filter((n) => !covered.has(n) && !/^(sr|fd)\d+$/.test(n));
    const devices = dedupe([
      ...scanned,
      ...(this.#config.extraDevices ?? []),
      ...fromSysfs.map((n) => ({ name: `/dev/${n}` })),
    ]);
    if (devices.length === 0) {
      return {
        status: 'no-data',
        at,
        readings: [],
        discovery: { scanned, fromSysfs },
        message:
          scanNote ?? 'smartctl --scan-open found no device and sysfs lists no physical disk',
      };
    }
    const readings = await Promise.all(devices.map((d) => this.#readOne(d, signal)));
    return {
      status: 'ok',
      at,
      readings,
      discovery: { scanned, fromSysfs },
      ...(scanNote === undefined ? {} : { message: scanNote }),
    };
  }

  async #readOne(device: SmartDevice, signal?: AbortSignal): Promise<SmartReading> {
    const fallback = {
      device: device.name,
      ...(device.type === undefined ? {} : { type: device.type }),
    };
    try {
      const run = await this.#smartctl.read(device, signal);
      const reading = readingFromRun(run, device);
      const f = reading.failure;
      if (f !== undefined) {
        // The check goes on (the disk is `unknown`); the log carries the stable code.
        const code =
          f.code === 'timeout'
            ? ErrorCode.HEALTH_SMARTCTL_TIMEOUT
            : ErrorCode.HEALTH_SMARTCTL_OUTPUT;
        this.#log.warn({ code, device: deviceId(device), argv: run.argv }, f.message);
      }
      return reading;
    } catch (err) {
      if (signal?.aborted === true) throw err;
      return failedReading(device.name, fallback, {
        code: 'not-run',
        message: err instanceof Error ? err.message : String(err),
      });
    }
  }
}

/** Interprets one run: a timeout, a kill or garbage become `error` readings that say so. */
export function readingFromRun(run: SmartctlRun, device: SmartDevice): SmartReading {
  const fallback = {
    device: device.name,
    ...(device.type === undefined ? {} : { type: device.type }),
    ...(run.exitCode === null ? {} : { exitStatus: run.exitCode }),
  };
  const source = device.type === undefined ? device.name : `${device.name} [${device.type}]`;
  const seconds = (run.durationMs / 1000).toFixed(1);
  if (run.timedOut) {
    return failedReading(source, fallback, {
      code: 'timeout',
      message: `smartctl ${deviceId(device)} did not finish in ${seconds} s and was killed (SIGKILL)`,
    });
  }
  if (run.overflow) {
    return failedReading(source, fallback, {
      code: 'bad-output',
      message: `smartctl ${deviceId(device)} printed more output than allowed and was killed`,
    });
  }
  if (run.signal !== null) {
    return failedReading(source, fallback, {
      code: 'killed',
      message: `smartctl ${deviceId(device)} was killed by ${run.signal}`,
    });
  }
  const parsed = readingFromText(run.stdout, source, fallback);
  const requested = {
    name: device.name,
    ...(device.type === undefined ? {} : { type: device.type }),
  };
  // The device we asked about is authoritative (smartctl may print a resolved or bridge name).
  const identity =
    parsed.identity.device === device.name
      ? parsed.identity
      : { ...parsed.identity, device: device.name };
  return { ...parsed, identity, requested };
}

function dedupe(devices: readonly SmartDevice[]): SmartDevice[] {
  const seen = new Set<string>();
  return devices.filter((d) => {
    const id = deviceId(d);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
