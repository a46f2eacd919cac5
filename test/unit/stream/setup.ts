/**
 * Shared setup of the stream server's tests: tokens per role, a config on 127.0.0.1:0 with
 * generous handshake limits, a pino logger whose lines the test can read and wait for, a clock
 * the test moves, and a server on a fresh state directory, closed after the test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { tokenHash } from '../../../agent/stream/auth.ts';
import { StreamConfigSchema } from '../../../agent/stream/config.ts';
import type { StreamConfig, StreamConfigInput } from '../../../agent/stream/config.ts';
import { StreamServer } from '../../../agent/stream/server.ts';
import type { StreamAgent } from '../../../agent/stream/port.ts';
import { StreamClient } from '../../helpers/stream-client.ts';
import type { StreamClientOptions } from '../../helpers/stream-client.ts';
import { FakeAgent } from './fake-agent.ts';

/** One 256-bit token per role (hex), and one whose hash is configured but expired. */
export const TOKENS = {
  viewer: 'a1'.repeat(32),
  operator: 'b2'.repeat(32),
  admin: 'c3'.repeat(32),
  expired: 'd4'.repeat(32),
} as const;

/** The config's token entries (hashes only). */
export function tokenEntries(): NonNullable<StreamConfigInput['tokens']> {
  return [
    { id: 'viewer-1', role: 'viewer', sha256: tokenHash(TOKENS.viewer) },
    { id: 'operator-1', role: 'operator', sha256: tokenHash(TOKENS.operator) },
    { id: 'admin-1', role: 'admin', sha256: tokenHash(TOKENS.admin) },
    {
      id: 'old-1',
      role: 'admin',
      sha256: tokenHash(TOKENS.expired),
      expiresAt: '2001-01-01T00:00:00Z',
    },
  ];
}

/** A test config: loopback, port 0, the tokens above, handshakes unlimited; `over` on top. */
export function streamConfig(over: StreamConfigInput = {}): StreamConfig {
  return StreamConfigSchema.parse({
    listen: '127.0.0.1:0',
    tokens: tokenEntries(),
    statsIntervalMs: 0,
    ...over,
    limits: { handshakesPerSecPerIp: 10_000, handshakeBurst: 10_000, ...over.limits },
  });
}

/** Log lines, parsed, as pino writes them. */
export class LogCapture {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];
  readonly logger: Logger;
  #waiters = new Set<() => void>();

  constructor() {
    this.logger = pino(
      { level: 'debug' },
      {
        write: (s: string) => {
          this.raw.push(s);
          this.lines.push(JSON.parse(s) as Record<string, unknown>);
          for (const w of this.#waiters) w();
        },
      },
    );
  }

  /** Waits for a line `pred` accepts (a failure after `timeoutMs`, not a timing assertion). */
  async waitFor(
    pred: (l: Record<string, unknown>) => boolean,
    timeoutMs = 5_000,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no matching log line; got: ${this.lines.map((l) => String(l['msg'])).join(' | ')}`,
        );
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        const w = () => {
          clearTimeout(t);
          this.#waiters.delete(w);
          r();
        };
        this.#waiters.add(w);
      });
    }
  }

  /** The audit lines (`audit: stream.command` or `stream.handshake`). */
  audits(kind = 'stream.command'): Record<string, unknown>[] {
    return this.lines.filter((l) => l['audit'] === kind);
  }
}

/** A clock the test moves (ms). */
export class ManualClock {
  now = 1_000_000;
  readonly fn = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

/** A fresh temporary directory, removed after the test. */
export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vft-stream-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** What {@link startServer} returns. */
export interface Harness {
  readonly server: StreamServer;
  readonly agent: FakeAgent;
  readonly url: string;
  readonly logs: LogCapture;
  readonly stateDir: string;
  /** Connects with the token of `role` (or the options given). */
  connect(role?: keyof typeof TOKENS | null, o?: StreamClientOptions): Promise<StreamClient>;
}

/** Starts a server on 127.0.0.1:0 with a fake agent; everything is closed after the test. */
export async function startServer(
  t: TestContext,
  o: {
    config?: StreamConfigInput;
    agent?: FakeAgent;
    stateDir?: string;
    clock?: () => number;
    logs?: LogCapture;
  } = {},
): Promise<Harness> {
  const agent = o.agent ?? new FakeAgent();
  const logs = o.logs ?? new LogCapture();
  const stateDir = o.stateDir ?? (await tempDir(t));
  const server = new StreamServer({
    agent: agent satisfies StreamAgent,
    config: streamConfig(o.config),
    stateDir,
    log: logs.logger,
    agentVersion: '0.0.0-test',
    ...(o.clock ? { clock: o.clock } : {}),
  });
  await server.start();
  const clients: StreamClient[] = [];
  t.after(async () => {
    for (const c of clients) c.ws.terminate();
    await server.close();
  });
  const url = server.url ?? '';
  return {
    server,
    agent,
    url,
    logs,
    stateDir,
    async connect(role = 'viewer', co = {}) {
      const c = await StreamClient.connect(
        url,
        role === null ? co : { token: TOKENS[role], ...co },
      );
      clients.push(c);
      return c;
    },
  };
}

/** Polls `cond` every few ms until it holds; fails after `timeoutMs` (a guard, not an assertion on time). */
export async function waitUntil(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition never held');
    await new Promise((r) => setTimeout(r, 5));
  }
}
