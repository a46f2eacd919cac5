/**
 * The fan-in bench's load generator (bench/fanin.ts starts it as its own process): N simulated
 * agents, each a WebSocket endpoint on one HTTP server (`/a/<i>/v1/stream`), speaking the
 * stream protocol as the real agent does: bearer token checked before the upgrade, `hello`,
 * `subscribe` with resume from an in-memory journal (or a snapshot), then one domain event per
 * second per agent (phases spread evenly), each with its dense seq and `at` = the send time.
 *
 *   node dist/bench/fanin-generator.js --agents 1000 --rate 1 --token T
 *
 * Prints one JSON line `{"ready":true,"port":P}` on stdout, then a stats line every 10 s.
 * Runs until stdin closes or SIGTERM. Not a test.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { encodeMessage, PROTOCOL_VERSION } from '../shared/protocol/index.ts';
import { sampleAgentStatus, sampleDomainStatus } from '../test/helpers/sample-status.ts';
import type { EventMessage, ServerMessage, SnapshotMessage } from '../shared/protocol/index.ts';

const { values: args } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '1' },
    token: { type: 'string', default: 'bench-token-0123456789abcdef' },
  },
});
const AGENTS = Number(args.agents);
const RATE = Number(args.rate);
const TOKEN = args.token;
const JOURNAL = 2_000;

interface Sim {
  readonly i: number;
  readonly id: string;
  readonly epoch: string;
  readonly uuid: string;
  seq: number;
  journal: EventMessage[];
  ws: WebSocket | null;
  subscribed: boolean;
  running: boolean;
  nextMs: number;
}

const sims: Sim[] = Array.from({ length: AGENTS }, (_, i) => ({
  i,
  id: `sim-${String(i).padStart(4, '0')}`,
  epoch: randomUUID(),
  uuid: `${randomUUID().slice(0, 24)}${String(i).padStart(12, '0')}`,
  seq: 0,
  journal: [],
  ws: null,
  subscribed: false,
  running: true,
  nextMs: 0,
}));

/** The sim's status as the real server sends it: the AgentStatus, JSON round-tripped. */
function status(s: Sim): SnapshotMessage['status'] {
  const now = new Date().toISOString();
  const st = sampleAgentStatus({
    agentId: s.id,
    host: s.id,
    generatedAt: now,
    startedAt: now,
    hostMeasures: { ...sampleAgentStatus().hostMeasures, risk: 'healthy' },
    domains: [
      sampleDomainStatus(s.uuid, `vm-${s.i}`, {
        state: s.running ? 'Running' : 'Paused',
        status: s.running ? 'running' : 'paused',
        since: now,
      }),
    ],
  });
  return JSON.parse(JSON.stringify(st)) as SnapshotMessage['status'];
}

function send(s: Sim, m: ServerMessage): void {
  if (s.ws && s.ws.readyState === s.ws.OPEN) s.ws.send(encodeMessage(m));
}

function onSubscribe(s: Sim, m: { fromSeq?: number; epoch?: string }): void {
  const base = s.journal[0]?.seq ?? s.seq + 1;
  if (
    m.fromSeq !== undefined &&
    m.epoch === s.epoch &&
    m.fromSeq >= base - 1 &&
    m.fromSeq <= s.seq
  ) {
    const missed = s.journal.filter((e) => e.seq > (m.fromSeq ?? 0));
    for (const e of missed) send(s, e);
    send(s, {
      v: PROTOCOL_VERSION,
      type: 'subscribed',
      mode: 'resume',
      epoch: s.epoch,
      seq: s.seq,
      replayed: missed.length,
    });
  } else {
    send(s, {
      v: PROTOCOL_VERSION,
      type: 'snapshot',
      epoch: s.epoch,
      seq: s.seq,
      status: status(s),
    });
    send(s, {
      v: PROTOCOL_VERSION,
      type: 'subscribed',
      mode: 'snapshot',
      epoch: s.epoch,
      seq: s.seq,
      replayed: 0,
    });
  }
  s.subscribed = true;
}

function emit(s: Sim): void {
  const from = s.running
    ? { state: 'Running', reason: 'Booted' }
    : { state: 'Paused', reason: 'User' };
  s.running = !s.running;
  const to = s.running
    ? { state: 'Running', reason: 'Unpaused' }
    : { state: 'Paused', reason: 'User' };
  const e: EventMessage = {
    v: PROTOCOL_VERSION,
    type: 'event',
    seq: ++s.seq,
    at: new Date().toISOString(),
    kind: 'domain',
    uuid: s.uuid,
    name: `vm-${s.i}`,
    from,
    to,
    late: false,
    source: 'event',
  };
  s.journal.push(e);
  if (s.journal.length > JOURNAL) s.journal.splice(0, JOURNAL / 2);
  if (s.subscribed) send(s, e);
}

const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  maxPayload: 64 * 1024,
});
const server = http.createServer((_req, res) => res.writeHead(426).end());
server.on('upgrade', (req, socket, head) => {
  const m = /^\/a\/(\d+)\/v1\/stream$/.exec(req.url ?? '');
  const s = m ? sims[Number(m[1])] : undefined;
  if (!s || req.headers.authorization !== `Bearer ${TOKEN}`) {
    socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    s.ws?.terminate();
    s.ws = ws;
    s.subscribed = false;
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (s.ws === ws) s.ws = null;
      s.subscribed = false;
    });
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString('utf8')) as {
        type: string;
        fromSeq?: number;
        epoch?: string;
      };
      if (msg.type === 'subscribe') onSubscribe(s, msg);
    });
    const now = new Date().toISOString();
    send(s, {
      v: PROTOCOL_VERSION,
      type: 'hello',
      agentId: s.id,
      host: s.id,
      agentVersion: 'bench',
      protocol: { version: PROTOCOL_VERSION, supported: [PROTOCOL_VERSION] },
      capabilities: ['snapshot', 'events', 'resume'],
      epoch: s.epoch,
      seq: s.seq,
      principal: { id: 'coordinator', role: 'operator' },
      actions: [],
      limits: { maxMessageBytes: 65536, commandsPerSec: 10, commandBurst: 20 },
      time: now,
    });
  });
});

server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  process.stdout.write(`${JSON.stringify({ ready: true, port })}\n`);
  const periodMs = 1000 / RATE;
  const start = Date.now();
  for (const s of sims) s.nextMs = start + (s.i * periodMs) / AGENTS;
  let sent = 0;
  const tick = setInterval(() => {
    const now = Date.now();
    for (const s of sims) {
      while (s.nextMs <= now) {
        if (s.subscribed) {
          emit(s);
          sent++;
        }
        s.nextMs += periodMs;
      }
    }
  }, 5);
  const stats = setInterval(() => {
    const connected = sims.filter((s) => s.subscribed).length;
    process.stdout.write(`${JSON.stringify({ connected, sent, cpu: process.cpuUsage() })}\n`);
  }, 10_000);
  const stop = () => {
    clearInterval(tick);
    clearInterval(stats);
    for (const s of sims) s.ws?.terminate();
    server.close();
    process.exit(0);
  };
  process.stdin.on('end', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
});
