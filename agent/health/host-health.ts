/**
 * One health check of this host — EDAC, SMART, VM map, history — or an offline evaluation of
 * captured smartctl output. The daemon keeps one {@link HostHealth} (so the SMART minimum
 * interval and the history persist between checks) and calls `check()` on its schedule.
 */
import { describeError } from '../../shared/errors.ts';
import { BlockTopology, blockNamesForSmartDevice } from './block-topology.ts';
import type { HealthConfig } from './config.ts';
import { mapVmDisks, type DiskMap } from './disk-map.ts';
import { assessDisk } from './disk-risk.ts';
import type { DomainXml } from './domain-disks.ts';
import { EdacReader, type EdacReading } from './edac.ts';
import { HealthHistory } from './history.ts';
import { assessHost } from './host-risk.ts';
import { assessMemory, type MemoryReport } from './memory.ts';
import { silentLogger, type HealthLogger } from './reader.ts';
import { diskLabel, diskReport, vmsOn, type DiskReport, type HealthReport } from './report.ts';
import { reason, type Reason } from './risk.ts';
import { SmartReader } from './smart.ts';
import type { SmartReading } from './smart-types.ts';
import type { Smartctl } from './smartctl.ts';

/** What a check needs from outside the health module. */
export interface HostHealthDeps {
  readonly log?: HealthLogger;
  /** Domains with their XML; when it rejects (no libvirtd) the report says so and goes on. */
  readonly listDomainXml?: () => Promise<readonly DomainXml[]>;
  /** Symlink resolution for image paths (default: none; the CLI passes realpathOfExisting). */
  readonly realpath?: (path: string) => Promise<string>;
  /** A shared smartctl runner (tests inject one; the daemon may share it). */
  readonly smartctl?: Smartctl;
}

/** See the module comment. */
export class HostHealth {
  readonly #config: HealthConfig;
  readonly #deps: HostHealthDeps;
  readonly #log: HealthLogger;
  readonly #edac: EdacReader;
  readonly #smart: SmartReader;
  #history: Promise<{ history: HealthHistory; note: Reason | null }> | null = null;

  constructor(config: HealthConfig, deps: HostHealthDeps = {}) {
    this.#config = config;
    this.#deps = deps;
    this.#log = deps.log ?? silentLogger;
    this.#edac = new EdacReader({ sysfsRoot: config.sysfsRoot }, this.#log);
    const smartConfig = {
      smartctlPath: config.smartctlPath,
      timeoutMs: config.smartctlTimeoutMs,
      concurrency: config.smartConcurrency,
      minIntervalMs: config.smartMinIntervalMs,
      sysRoot: config.sysfsRoot,
      extraDevices: config.smartExtraDevices,
    };
    this.#smart = new SmartReader(smartConfig, this.#log, deps.smartctl);
  }

  /** Reads this host and returns the report; updates and saves the history. */
  async check(signal?: AbortSignal): Promise<HealthReport> {
    const { history, note } = await this.#loadHistory();
    const notes: Reason[] = note === null ? [] : [note];
    const edac = await this.#edac.read(signal);
    const obs = edac.status === 'ok' ? history.observeEdac(edac.controllers, edac.at) : null;
    const memory = assessMemory(edac, obs, this.#config.thresholds.memory);
    const smart = await this.#smart.read(signal);
    if (smart.status !== 'ok' && smart.message !== undefined) {
      notes.push(
        reason(
          smart.status === 'error' ? 'smart-unavailable' : 'no-smart-devices',
          'info',
          `SMART not read: ${smart.message}`,
        ),
      );
    } else if (smart.message !== undefined) {
      notes.push(reason('smart-scan-failed', 'info', smart.message));
    }
    const { map, note: mapNote } = await this.#vmMap();
    if (mapNote !== null) notes.push(mapNote);
    const topology = await BlockTopology.load(this.#config.sysfsRoot);
    const disks = smart.readings.map((r) => {
      const verdict = assessDisk(
        r,
        this.#config.thresholds.disk,
        r.state === 'standby' ? history.lastSmart(r) : undefined,
      );
      history.rememberSmart(r, smart.at);
      return diskReport(
        r,
        verdict,
        vmsOn(map, blockNamesForSmartDevice(r.identity.device, topology)),
      );
    });
    if (smart.status !== 'error' && !disks.some((d) => d.state === 'ok' || d.state === 'standby')) {
      const found =
        smart.discovery.scanned.length === 0
          ? 'smartctl --scan-open found none'
          : `${smart.discovery.scanned.length} scanned`;
      const others =
        disks.length === 0 ? '' : `; ${disks.map((d) => d.device).join(', ')} gave no SMART data`;
      notes.push(
        reason('no-smart-capable-disk', 'info', `no SMART-capable disk: ${found}${others}`),
      );
    }
    if (map !== null)
      for (const u of map.unresolved)
        notes.push(
          reason(
            'vm-disk-untraced',
            'info',
            `${u.ref.domain}:${u.ref.target ?? '?'} (${u.ref.source}): ${u.reason}`,
          ),
        );
    try {
      await history.save();
    } catch (err) {
      this.#log.warn({ err }, 'health history not saved');
      notes.push(reason('history-not-saved', 'info', describeError(err)));
    }
    return finish(memory, disks, this.#config, notes);
  }

  async #vmMap(): Promise<{ map: DiskMap | null; note: Reason | null }> {
    const list = this.#deps.listDomainXml;
    if (list === undefined)
      return {
        map: null,
        note: reason(
          'vm-map-skipped',
          'info',
          'VM map not built: no libvirt connection configured',
        ),
      };
    let domains: readonly DomainXml[];
    try {
      domains = await list();
    } catch (err) {
      return {
        map: null,
        note: reason(
          'vm-map-unavailable',
          'info',
          `libvirt unavailable (${describeError(err)}): disks are listed without their VMs`,
        ),
      };
    }
    const map = await mapVmDisks({
      domains,
      procRoot: this.#config.procRoot,
      sysRoot: this.#config.sysfsRoot,
      ...(this.#deps.realpath === undefined ? {} : { realpath: this.#deps.realpath }),
    });
    const note =
      map.problems.length === 0 ? null : reason('vm-map-problem', 'info', map.problems.join('; '));
    return { map, note };
  }

  #loadHistory(): Promise<{ history: HealthHistory; note: Reason | null }> {
    this.#history ??= HealthHistory.load({ stateDir: this.#config.stateDir }).then(
      (history) => ({
        history,
        note:
          history.loadProblem === null
            ? null
            : reason('history-reset', 'info', history.loadProblem),
      }),
      async (err: unknown) => ({
        history: await HealthHistory.load({ stateDir: null }),
        note: reason('history-unavailable', 'info', `history not used: ${describeError(err)}`),
      }),
    );
    return this.#history;
  }
}

/**
 * Offline evaluation of captured smartctl output, as a support engineer would: no history kept,
 * no VM map. `memory` is an EDAC reading to include (e.g. from a copied sysfs tree), or `null`.
 */
export async function evaluateCaptures(
  readings: readonly SmartReading[],
  config: HealthConfig,
  memory: EdacReading | null,
): Promise<HealthReport> {
  let mem: MemoryReport;
  if (memory === null) {
    const why =
      'memory not read: offline evaluation of smartctl captures (add --sysfs-root to include an EDAC tree)';
    mem = {
      status: 'no-data',
      risk: 'unknown',
      reasons: [reason('memory-not-read', 'unknown', why)],
      controllers: [],
      dimms: [],
    };
  } else {
    const scratch = await HealthHistory.load({ stateDir: null });
    const obs = memory.status === 'ok' ? scratch.observeEdac(memory.controllers, memory.at) : null;
    mem = assessMemory(memory, obs, config.thresholds.memory);
  }
  const disks = readings.map((r) => diskReport(r, assessDisk(r, config.thresholds.disk), []));
  const n = readings.length;
  const notes = [
    reason(
      'offline',
      'info',
      `offline evaluation of ${n} capture${n === 1 ? '' : 's'}: VMs not mapped`,
    ),
  ];
  return finish(mem, disks, config, notes);
}

function finish(
  memory: MemoryReport,
  disks: readonly DiskReport[],
  config: HealthConfig,
  notes: readonly Reason[],
): HealthReport {
  const inputs = disks.map((d) => ({
    device: d.source,
    label: diskLabel(d),
    risk: d.risk,
    firstReason:
      d.reasons.find((r) => r.level === d.risk || (d.risk === 'unknown' && r.level === 'unknown'))
        ?.message ??
      d.reasons[0]?.message ??
      '',
    vms: d.vms.map(
      (v) => `${v.domain}:${v.target ?? '?'}${v.backingDepth > 0 ? ` (backing image)` : ''}`,
    ),
  }));
  return {
    memory,
    disks,
    host: assessHost(memory, inputs, config.thresholds.failureProbability, notes),
  };
}
