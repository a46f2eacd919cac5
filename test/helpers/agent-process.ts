/**
 * A real `virt-ft agent` child process: writes its config (a fresh state directory; with
 * `tokens`, the status stream on a free loopback port with those tokens as hashes), starts it,
 * waits until it has started, collects its JSON log lines, and kills or restarts it (same port,
 * same state: its journal, seqs, records and idempotency keys survive).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokenHash } from '../../agent/stream/auth.ts';
import type { Role } from '../../shared/protocol/index.ts';
import { CLI } from './cli.ts';

/** A token the agent accepts: its id, role and the token itself (the config gets its hash). */
export interface AgentToken {
  readonly id: string;
  readonly role: Role;
  readonly token: string;
}

/** One JSON log line of the agent (pino). */
export type LogLine = Record<string, unknown> & { readonly msg?: string };

/** Options of {@link AgentProcess.start}. */
export interface AgentProcessOptions {
  /** @default 'vft-test-agent' */
  readonly agentId?: string;
  /** Stream tokens; without any the stream stays off. */
  readonly tokens?: readonly AgentToken[];
  /** More config keys (policy, domains, libvirt…), merged over the defaults here. */
  readonly config?: Record<string, unknown>;
  /** More `stream` keys. */
  readonly stream?: Record<string, unknown>;
  /** @default a fresh temporary directory (removed by cleanup) */
  readonly dir?: string;
}

/** A free TCP port on 127.0.0.1 (bound and released: fine for tests on one machine). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  await new Promise<void>((r) =>
    srv.close(() => {
      r();
    }),
  );
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

/** One real agent process (see the file's comment). */
export class AgentProcess {
  readonly dir: string;
  readonly stateDir: string;
  readonly configPath: string;
  readonly port: number;
  readonly agentId: string;
  /** Every JSON log line of every run, in order. */
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  #child: ChildProcess | null = null;
  #exit: Promise<number | null> = Promise.resolve(null);
  #ownDir: boolean;

  private constructor(dir: string, port: number, agentId: string, ownDir: boolean) {
    this.dir = dir;
    this.stateDir = join(dir, 'state');
    this.configPath = join(dir, 'agent.json');
    this.port = port;
    this.agentId = agentId;
    this.#ownDir = ownDir;
  }

  /** Writes the config and starts the agent; resolves once its stream listens. */
  static async start(o: AgentProcessOptions): Promise<AgentProcess> {
    const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'vft-agentproc-')));
    const agentId = o.agentId ?? 'vft-test-agent';
    const a = new AgentProcess(dir, o.tokens ? await freePort() : 0, agentId, o.dir === undefined);
    const config = {
      agentId,
      stateDir: a.stateDir,
      startupGraceMs: 0,
      health: { enabled: false },
      ...o.config,
      ...(o.tokens
        ? {
            stream: {
              listen: `127.0.0.1:${a.port}`,
              tokens: o.tokens.map((t) => ({ id: t.id, role: t.role, sha256: tokenHash(t.token) })),
              statsIntervalMs: 0,
              ...o.stream,
            },
          }
        : {}),
    };
    await writeFile(a.configPath, JSON.stringify(config, null, 2), { mode: 0o600 });
    await a.spawn();
    return a;
  }

  /** `ws://127.0.0.1:PORT/v1/stream`. */
  get url(): string {
    return `ws://127.0.0.1:${this.port}/v1/stream`;
  }

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /** (Re)starts the process with the same config and state; resolves once it has started (its stream listens). */
  async spawn(timeoutMs = 30_000): Promise<void> {
    const from = this.logs.length;
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
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          this.logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.stderr.push(line);
        }
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (c: string) => this.stderr.push(c));
    const exited = this.#exit.then((code) => {
      throw new Error(
        `agent ${this.agentId} exited (${code}): ${this.stderr.join('').slice(-2000)}`,
      );
    });
    await Promise.race([
      this.waitForLog((l) => l['msg'] === 'virt-ft agent started', timeoutMs, from),
      exited,
    ]);
  }

  /** Waits for a log line (from index `from`) that `pred` accepts. */
  async waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 30_000, from = 0): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs.slice(from).find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) {
        const last = this.logs.slice(-15).map((l) => JSON.stringify(l).slice(0, 300));
        throw new Error(
          `agent ${this.agentId}: no matching log line within ${timeoutMs} ms; last lines:\n${last.join('\n')}\nstderr: ${this.stderr.join('').slice(-2000)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends `signal` and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const c = this.#child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return c?.exitCode ?? null;
    c.kill(signal);
    return this.#exit;
  }

  /** Decision log lines (the policy's `decision: …` entries) from index `from`. */
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

  /** The events in the agent's journal (`<stateDir>/stream/journal.jsonl`), in order. */
  async journal(): Promise<{ seq: number; kind: string; [k: string]: unknown }[]> {
    const text = await readFile(join(this.stateDir, 'stream', 'journal.jsonl'), 'utf8');
    return text
      .split('\n')
      .slice(1)
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { seq: number; kind: string });
  }

  /** Stops (SIGTERM, then SIGKILL after 15 s) and removes the directory if it made it. */
  async cleanup(): Promise<void> {
    const t = setTimeout(() => void this.kill('SIGKILL'), 15_000);
    await this.kill('SIGTERM');
    clearTimeout(t);
    if (this.#ownDir) await rm(this.dir, { recursive: true, force: true });
  }
}
