/**
 * In-process coordinators for unit tests: real stream servers with fake agents
 * (test/unit/stream/setup.ts) on loopback, a coordinator on 127.0.0.1:0 with admin tokens per
 * role, closed after the test. Requests and watchers helpers return status and body.
 */
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import WebSocket from 'ws';
import { tokenHash } from '../../../agent/stream/auth.ts';
import { CoordinatorConfigSchema } from '../../../coordinator/config.ts';
import type { CoordinatorConfigInput } from '../../../coordinator/config.ts';
import { Coordinator } from '../../../coordinator/coordinator.ts';
import { LogCapture, TOKENS } from '../stream/setup.ts';
import type { Harness } from '../stream/setup.ts';

/** Admin tokens of the coordinator's API, one per role. */
export const ADMIN = { viewer: '01'.repeat(32), operator: '02'.repeat(32), admin: '03'.repeat(32) };

/** What {@link startCoordinator} returns. */
export interface CoordHarness {
  readonly coordinator: Coordinator;
  readonly url: string;
  readonly logs: LogCapture;
  request(
    method: string,
    path: string,
    o?: { token?: string | null; body?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: Record<string, unknown> }>;
}

/** A coordinator following `agents` (ids host-0, host-1, … unless given). */
export async function startCoordinator(
  t: TestContext,
  agents: readonly (Harness | { id: string; url: string; token?: string })[],
  o: {
    stateDir?: string;
    store?: 'sqlite' | 'memory';
    config?: Partial<CoordinatorConfigInput>;
  } = {},
): Promise<CoordHarness> {
  const logs = new LogCapture();
  const config = CoordinatorConfigSchema.parse({
    stateDir: o.stateDir ?? '/nonexistent',
    agents: agents.map((a, i) => ({
      id: 'id' in a ? a.id : `host-${i}`,
      url: a.url,
      token: 'token' in a && a.token !== undefined ? a.token : TOKENS.operator,
    })),
    reconnect: { baseMs: 20, capMs: 200 },
    pingIntervalMs: 1_000,
    store: {
      kind: o.store ?? 'memory',
      ...(o.stateDir ? { path: join(o.stateDir, 'events.db') } : {}),
    },
    ...o.config,
    api: {
      listen: '127.0.0.1:0',
      tokens: Object.entries(ADMIN).map(([role, tok]) => ({
        id: `${role}-1`,
        role,
        sha256: tokenHash(tok),
      })),
      ...o.config?.api,
    },
  });
  const coordinator = new Coordinator(config, logs.logger);
  await coordinator.start();
  t.after(() => coordinator.close());
  const url = coordinator.url ?? '';
  return {
    coordinator,
    url,
    logs,
    async request(method, path, ro = {}) {
      const token = ro.token === undefined ? ADMIN.viewer : ro.token;
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...(ro.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...ro.headers,
        },
        ...(ro.body === undefined ? {} : { body: ro.body }),
      });
      const text = await res.text();
      return {
        status: res.status,
        body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      };
    },
  };
}

/** Waits until every host is reachable (a guard, not a timing assertion). */
export async function allReachable(h: CoordHarness, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await h.request('GET', '/v1/hosts');
    const hosts = r.body['hosts'] as { reachable: boolean }[];
    if (hosts.every((x) => x.reachable)) return;
    if (Date.now() > deadline) throw new Error(`not reachable: ${JSON.stringify(hosts)}`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

/** Opens the live tail; resolves with the socket and the messages it collects. */
export async function watch(
  h: CoordHarness,
  query = '',
  token: string | null = ADMIN.viewer,
): Promise<{ ws: WebSocket; messages: Record<string, unknown>[]; closed: Promise<number> }> {
  const ws = new WebSocket(`${h.url.replace('http', 'ws')}/v1/watch${query}`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    perMessageDeflate: false,
  });
  const messages: Record<string, unknown>[] = [];
  ws.on('message', (d: Buffer) =>
    messages.push(JSON.parse(d.toString('utf8')) as Record<string, unknown>),
  );
  const closed = new Promise<number>((r) =>
    ws.once('close', (code) => {
      r(code);
    }),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => {
      resolve();
    });
    ws.once('unexpected-response', (_q, res) => {
      reject(new Error(`HTTP ${res.statusCode ?? 0}`));
    });
    ws.once('error', reject);
  });
  return { ws, messages, closed };
}
