/**
 * `virt-ft health [--sysfs-root DIR] [--proc-root DIR] [--smartctl-json FILE...]
 * [--state-dir DIR] [--json]`: one health check of this host, or an offline evaluation of
 * captured `smartctl --json` output. Exit 0 with a report (whatever the verdict); on an error,
 * one line on stderr and exit 1 (2 for a usage error).
 */
import { readFile } from 'node:fs/promises';

import { Command } from 'commander';

import { AgentError, describeError, ErrorCode } from '../../shared/errors.ts';
import { HealthConfigSchema, type HealthConfig } from './config.ts';
import { realpathOfExisting } from './disk-map.ts';
import type { DomainXml } from './domain-disks.ts';
import { EdacReader } from './edac.ts';
import { evaluateCaptures, HostHealth } from './host-health.ts';
import { parseJson, stringifyJson } from './lossless-json.ts';
import { silentLogger, type HealthLogger } from './reader.ts';
import type { HealthReport } from './report.ts';
import { renderHealthText } from './report-text.ts';
import { failedReading, readingFromText } from './smart-parse.ts';
import { isScanDocument } from './smart-scan.ts';

/** Options as commander parses them. */
export interface HealthCommandOptions {
  readonly sysfsRoot?: string;
  readonly procRoot?: string;
  readonly smartctlJson?: readonly string[];
  readonly stateDir?: string;
  readonly json?: boolean;
}

/** What the command needs from the rest of the agent. */
export interface HealthCommandDeps {
  /** Lists domains with their XML (the libvirt client); may reject when libvirtd is down. */
  readonly listDomainXml: () => Promise<readonly DomainXml[]>;
  /** Defaults under the flags (e.g. `smartctlPath` from the agent config). */
  readonly config?: Partial<HealthConfig>;
  readonly stdout?: { write(s: string): unknown };
  readonly stderr?: { write(s: string): unknown };
  readonly log?: HealthLogger;
}

/** Builds the `health` subcommand; agent/cli.ts adds it with `program.addCommand(...)`. */
export function buildHealthCommand(deps: HealthCommandDeps): Command {
  return new Command('health')
    .description(
      'Report memory (EDAC) and disk (SMART) health, the disk failure probability and the VMs on failing disks',
    )
    .option('--sysfs-root <dir>', 'sysfs root to read EDAC and block devices from (default: /sys)')
    .option('--proc-root <dir>', 'procfs root to read mountinfo from (default: /proc)')
    .option(
      '--smartctl-json <file...>',
      'evaluate captured `smartctl --json` output offline instead of running smartctl',
    )
    .option(
      '--state-dir <dir>',
      'keep history (rates across runs) in this directory; live checks only',
    )
    .option('--json', 'print one JSON object { memory, disks, host }')
    .action(async (opts: HealthCommandOptions) => {
      try {
        (deps.stdout ?? process.stdout).write(await healthOutput(opts, deps));
      } catch (e) {
        // agent/cli.ts prints one line for a thrown error and exits with its `exitCode`.
        throw new HealthCommandError(e);
      }
    });
}

/** A failed `virt-ft health`: a one-line message and the exit code the CLI should use. */
export class HealthCommandError extends Error {
  readonly exitCode: number;
  /** The cause's stable code, when it has one. */
  readonly code: string | undefined;
  constructor(cause: unknown) {
    super(describeError(cause), { cause });
    this.name = 'HealthCommandError';
    this.code = cause instanceof AgentError ? cause.code : undefined;
    this.exitCode = this.code === ErrorCode.USAGE ? 2 : 1;
  }
}

/**
 * Runs the command outside commander (tests, scripts): writes the report, or one line on
 * stderr, and returns the exit code (0, 1, or 2 for a usage error).
 */
export async function runHealthCommand(
  opts: HealthCommandOptions,
  deps: HealthCommandDeps,
): Promise<number> {
  try {
    (deps.stdout ?? process.stdout).write(await healthOutput(opts, deps));
    return 0;
  } catch (e) {
    const failure = new HealthCommandError(e);
    (deps.stderr ?? process.stderr).write(`virt-ft health: ${failure.message}\n`);
    return failure.exitCode;
  }
}

/** The report as text or JSON; throws on an error. */
async function healthOutput(opts: HealthCommandOptions, deps: HealthCommandDeps): Promise<string> {
  const config = configFor(opts, deps.config);
  const offlineMode = opts.smartctlJson !== undefined && opts.smartctlJson.length > 0;
  const report = offlineMode ? await offline(opts, config) : await live(config, deps);
  return opts.json === true ? `${stringifyJson(report, 2)}\n` : renderHealthText(report);
}

function configFor(opts: HealthCommandOptions, base: Partial<HealthConfig> = {}): HealthConfig {
  const parsed = HealthConfigSchema.safeParse({
    ...base,
    // The one-shot command keeps no history unless asked to.
    stateDir: opts.stateDir ?? null,
    ...(opts.sysfsRoot === undefined ? {} : { sysfsRoot: opts.sysfsRoot }),
    ...(opts.procRoot === undefined ? {} : { procRoot: opts.procRoot }),
  });
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new AgentError(ErrorCode.CONFIG_INVALID, `Invalid health configuration: ${issues}`);
  }
  return parsed.data;
}

function live(config: HealthConfig, deps: HealthCommandDeps): Promise<HealthReport> {
  const health = new HostHealth(config, {
    log: deps.log ?? silentLogger,
    listDomainXml: deps.listDomainXml,
    realpath: realpathOfExisting,
  });
  return health.check();
}

async function offline(opts: HealthCommandOptions, config: HealthConfig): Promise<HealthReport> {
  const readings = [];
  for (const file of opts.smartctlJson ?? []) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new AgentError(ErrorCode.USAGE, `Cannot read ${file}`, { cause: e });
    }
    let scan = false;
    try {
      scan = isScanDocument(parseJson(text));
    } catch {
      // Not JSON: readingFromText reports it as bad output for this file.
    }
    readings.push(
      scan
        ? failedReading(
            file,
            {},
            {
              code: 'scan-output',
              message: `${file} is smartctl --scan output: it lists devices but holds no SMART data`,
            },
          )
        : readingFromText(text, file),
    );
  }
  const memory =
    opts.sysfsRoot === undefined
      ? null
      : await new EdacReader({ sysfsRoot: config.sysfsRoot }, silentLogger).read();
  return evaluateCaptures(readings, config, memory);
}
