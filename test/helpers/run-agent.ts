import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from './cli.ts';

/** One JSON log line of the agent (pino). */
export type LogLine = Record<string, unknown> & { msg?: string; level?: string; time?: string };

/**
 * A real `virt-ft agent` child process with its own config and state dir. Its JSON log lines
 * are collected; `waitForLog` waits for one that matches.
 */
export class AgentProcess {
  readonly dir: string;
  readonly stateDir: string;
  readonly configPath: string;
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  #child: ChildProcess | null = null;
  #exit: Promise<number | null> | null = null;

  private constructor(dir: string) {
    this.dir = dir;
    this.stateDir = join(dir, 'state');
    this.configPath = join(dir, 'agent.json');
  }

  /** Writes the config (stateDir filled in) and starts the agent; resolves once it logged "started". */
  static async start(config: Record<string, unknown>, dir?: string): Promise<AgentProcess> {
    const a = new AgentProcess(dir ?? (await mkdtemp(join(tmpdir(), 'vft-agent-'))));
    await writeFile(a.configPath, JSON.stringify({ stateDir: a.stateDir, ...config }, null, 2));
    await a.spawn();
    return a;
  }

  /** (Re)starts the process with the same config and state dir. */
  async spawn(): Promise<void> {
    const child = spawn(process.execPath, [CLI, 'agent', '--config', this.configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#exit = new Promise((resolve) =>
      child.once('exit', (code) => {
        resolve(code);
      }),
    );
    let buf = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.stderr.push(line);
        }
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => this.stderr.push(chunk));
    const from = this.logs.length;
    await this.waitForLog((l) => l.msg === 'virt-ft agent started', 60_000, from);
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Waits for a log line matching `pred` after index `from`. */
  async waitForLog(pred: (l: LogLine) => boolean, timeoutMs: number, from = 0): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs.slice(from).find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) {
        throw new Error(
          `agent log has no matching line within ${timeoutMs} ms; last lines:\n${this.logs
            .slice(-15)
            .map((l) => JSON.stringify(l).slice(0, 300))
            .join('\n')}\nstderr: ${this.stderr.join('').slice(-2000)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Decision log lines (the policy's `decision: …` entries). */
  decisions(from = 0): LogLine[] {
    return this.logs
      .slice(from)
      .filter((l) => typeof l.msg === 'string' && l.msg.startsWith('decision'));
  }

  /** The agent's status.json. */
  async status(): Promise<Record<string, unknown> & { domains: Record<string, unknown>[] }> {
    return JSON.parse(await readFile(join(this.stateDir, 'status.json'), 'utf8')) as Record<
      string,
      unknown
    > & {
      domains: Record<string, unknown>[];
    };
  }

  /** Sends a signal and waits for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.#child || this.#child.exitCode !== null) return this.#child?.exitCode ?? null;
    this.#child.kill(signal);
    return this.#exit;
  }

  async cleanup(): Promise<void> {
    await this.stop('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }
}
