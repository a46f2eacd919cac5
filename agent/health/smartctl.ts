/**
 * The one place the agent starts a process (ADR 0005; ESLint bans node:child_process
 * elsewhere). smartctl runs through execFile with an argument array — no shell — with `--`
 * before the device, `--nocheck=standby` so a sleeping disk is never spun up, a hard timeout
 * after which smartctl is SIGKILLed (and reaped), at most `concurrency` runs at a time, and a
 * per-device minimum interval (smartctl_exporter #56/#197: hung or slow smartctl stalls).
 */
import { execFile } from 'node:child_process';

import { AgentError, ErrorCode } from '../../shared/errors.ts';
import { Limiter } from './limiter.ts';
import type { HealthLogger } from './reader.ts';
import { deviceId, type SmartDevice } from './smart-scan.ts';

/** Configuration slice of the runner. */
export interface SmartctlConfig {
  /** @default '/usr/sbin/smartctl' */
  readonly smartctlPath: string;
  /** Per run, then SIGKILL. @default 30_000 */
  readonly timeoutMs: number;
  /** Runs at once. @default 2 */
  readonly concurrency: number;
  /** A device read again sooner than this returns the previous run. @default 3_600_000 */
  readonly minIntervalMs: number;
  /** Largest stdout accepted; more is treated as garbage and smartctl is killed. @default 8 MiB */
  readonly maxOutputBytes?: number;
}

/** The result of one smartctl process. */
export interface SmartctlRun {
  readonly argv: readonly string[];
  /** Exit code, or `null` when smartctl was killed. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** True when stdout passed `maxOutputBytes`. */
  readonly overflow: boolean;
  readonly durationMs: number;
  /** Wall-clock time the run finished (ms since the epoch). */
  readonly at: number;
  /** True when this is an earlier run returned because of the minimum interval. */
  readonly cached: boolean;
}

/** The arguments of a device read; exported so tests and docs show the exact command. */
export function readArgs(device: SmartDevice): string[] {
  return [
    '--json',
    '--info',
    '--health',
    '--attributes',
    '--log=error',
    '--nocheck=standby',
    ...(device.type === undefined ? [] : [`--device=${device.type}`]),
    '--',
    device.name,
  ];
}

/** Runs smartctl under the limits above; see the module comment. */
export class Smartctl {
  readonly #config: SmartctlConfig;
  readonly #log: HealthLogger;
  readonly #limiter: Limiter;
  readonly #now: () => number;
  readonly #last = new Map<string, SmartctlRun>();

  constructor(config: SmartctlConfig, log: HealthLogger, now: () => number = Date.now) {
    this.#config = config;
    this.#log = log;
    this.#limiter = new Limiter(config.concurrency);
    this.#now = now;
  }

  /** `smartctl --scan-open --json`. */
  scan(signal?: AbortSignal): Promise<SmartctlRun> {
    return this.#limiter.run(() => this.#exec(['--scan-open', '--json'], signal), signal);
  }

  /** Reads one device, or returns its previous run if that is younger than `minIntervalMs`. */
  async read(device: SmartDevice, signal?: AbortSignal): Promise<SmartctlRun> {
    const id = deviceId(device);
    const prev = this.#last.get(id);
    if (prev !== undefined && this.#now() - prev.at < this.#config.minIntervalMs) {
      return { ...prev, cached: true };
    }
    const run = await this.#limiter.run(() => this.#exec(readArgs(device), signal), signal);
    this.#last.set(id, run);
    return run;
  }

  /**
   * One process. Resolves for any exit (smartctl's exit status is data), rejects only when
   * smartctl cannot be started (`VFT_ERR_HEALTH_SMARTCTL`) or `signal` aborts.
   */
  #exec(args: string[], signal?: AbortSignal): Promise<SmartctlRun> {
    signal?.throwIfAborted();
    const started = this.#now();
    const argv = [this.#config.smartctlPath, ...args];
    return new Promise<SmartctlRun>((resolve, reject) => {
      const child = execFile(
        this.#config.smartctlPath,
        args,
        {
          encoding: 'utf8',
          // execFile's own timeout destroys the pipes before it kills, so a run ends on time
          // even if something else still holds smartctl's stdout.
          timeout: this.#config.timeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: this.#config.maxOutputBytes ?? 8 * 1024 * 1024,
          env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
        },
        (err, stdout, stderr) => {
          signal?.removeEventListener('abort', abort);
          const code = errorCode(err);
          if (code === 'ENOENT' || code === 'EACCES') {
            const why =
              code === 'ENOENT' ? 'not found (install smartmontools)' : 'permission denied';
            reject(
              new AgentError(
                ErrorCode.HEALTH_SMARTCTL,
                `Cannot run ${this.#config.smartctlPath}: ${why}`,
                { cause: err },
              ),
            );
            return;
          }
          if (signal?.aborted === true) {
            reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
            return;
          }
          const overflow = code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER';
          const killed = err?.killed ?? false;
          const run: SmartctlRun = {
            argv,
            exitCode: child.exitCode,
            signal: child.signalCode,
            stdout,
            stderr,
            timedOut: killed && !overflow,
            overflow,
            durationMs: this.#now() - started,
            at: this.#now(),
            cached: false,
          };
          this.#log.debug(
            { argv, exitCode: run.exitCode, signal: run.signal, durationMs: run.durationMs },
            'smartctl finished',
          );
          resolve(run);
        },
      );
      const abort = (): void => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        child.kill('SIGKILL');
      };
      signal?.addEventListener('abort', abort, { once: true });
    });
  }
}

function errorCode(err: unknown): string | number | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = err.code;
  return typeof code === 'string' || typeof code === 'number' ? code : undefined;
}
