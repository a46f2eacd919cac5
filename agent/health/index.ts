/**
 * Public surface of the health module, for the daemon and the CLI.
 *
 * ```ts
 * const health = new HostHealth(HealthConfigSchema.parse(config.health), {
 *   log: log.child({ component: 'health' }),
 *   listDomainXml: () => libvirt.listDomainXml(),
 * });
 * const report = await health.check(signal); // { memory, disks, host }
 * ```
 */
export {
  buildHealthCommand,
  runHealthCommand,
  type HealthCommandDeps,
  type HealthCommandOptions,
} from './command.ts';
export { HealthConfigSchema, type HealthConfig } from './config.ts';
export {
  mapVmDisks,
  realpathOfExisting,
  type DiskMap,
  type DiskMapInput,
  type VmDiskRef,
} from './disk-map.ts';
export { assessDisk, type DiskAssessment } from './disk-risk.ts';
export type { DomainXml } from './domain-disks.ts';
export { EdacReader, type EdacReading, type EdacReaderConfig } from './edac.ts';
export { HealthHistory, type HistoryConfig } from './history.ts';
export { assessHost, diskFailureProbability, type HostReport } from './host-risk.ts';
export { evaluateCaptures, HostHealth, type HostHealthDeps } from './host-health.ts';
export {
  assessMemory,
  type ControllerReport,
  type DimmReport,
  type MemoryReport,
} from './memory.ts';
export {
  silentLogger,
  type HealthLogger,
  type HealthReader,
  type ReadingStatus,
} from './reader.ts';
export type { DiskReport, HealthReport, VmOnDisk } from './report.ts';
export { renderHealthText } from './report-text.ts';
export { Risk, type Reason, type ReasonLevel } from './risk.ts';
export { SmartReader, type SmartReaderConfig, type SmartResult } from './smart.ts';
export type { SmartAttributes, SmartIdentity, SmartReading } from './smart-types.ts';
export { Smartctl, type SmartctlConfig, type SmartctlRun } from './smartctl.ts';
export * from './thresholds.ts';
