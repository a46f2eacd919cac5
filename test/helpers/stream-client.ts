/**
 * A small client of the agent's status stream (docs/protocol.md) for tests and for the
 * coordinator to start from: connect with a token, subscribe (from a seq), collect every
 * message (each validated by the protocol's own parser), send a command and await its answer.
 * Waits are on messages, never on sleeps; the timeout only turns a hang into a failure.
 */
import WebSocket from 'ws';
import type { ClientOptions } from 'ws';
import {
  encodeMessage,
  parseServerMessage,
  PROTOCOL_VERSION,
  ROLE_HEADER,
  SUBPROTOCOL,
} from '../../shared/protocol/index.ts';
import type {
  AckMessage,
  CommandMessage,
  ErrorMessage,
  EventMessage,
  HelloMessage,
  ResultMessage,
  Role,
  ServerMessage,
} from '../../shared/protocol/index.ts';

/** How to connect. */
export interface StreamClientOptions {
  readonly token?: string;
  /** Sent as the role header: the least role this client needs. */
  readonly role?: Role;
  readonly origin?: string;
  /** @default [SUBPROTOCOL] */
  readonly protocols?: readonly string[];
  /** TLS: trust this CA; present this client certificate. */
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
  /** @default 16 MiB */
  readonly maxPayload?: number;
}

/** An upgrade the agent refused: its HTTP status and JSON body. */
export class UpgradeRefused extends Error {
  readonly status: number;
  readonly body: string;
  constructor(status: number, body: string) {
    super(`upgrade refused: HTTP ${status} ${body}`);
    this.status = status;
    this.body = body;
  }
}

/** A command as the client writes it (`v` and `type` are added). */
export type CommandInput = CommandMessage extends infer C
  ? C extends CommandMessage
    ? Omit<C, 'v' | 'type'>
    : never
  : never;

export class StreamClient {
  readonly ws: WebSocket;
  /** Every valid message, in order. */
  readonly messages: ServerMessage[] = [];
  /** Messages the protocol parser refused (should stay empty). */
  readonly invalid: string[] = [];
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters = new Set<() => void>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      const r = parseServerMessage(text);
      if (r.ok) this.messages.push(r.message);
      else this.invalid.push(`${r.error.message}: ${text.slice(0, 200)}`);
      for (const w of this.#waiters) w();
    });
    ws.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString('utf8') });
        for (const w of this.#waiters) w();
      });
    });
  }

  /** Opens a connection; rejects with {@link UpgradeRefused} when the agent says no. */
  static async connect(url: string, o: StreamClientOptions = {}): Promise<StreamClient> {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token !== undefined) headers['authorization'] = `Bearer ${o.token}`;
    if (o.role !== undefined) headers[ROLE_HEADER] = o.role;
    const opts: ClientOptions = {
      headers,
      perMessageDeflate: false,
      maxPayload: o.maxPayload ?? 16 * 1024 * 1024,
      handshakeTimeout: 5_000,
      ...(o.origin === undefined ? {} : { origin: o.origin }),
      ...(o.ca === undefined ? {} : { ca: o.ca }),
      ...(o.cert === undefined ? {} : { cert: o.cert }),
      ...(o.key === undefined ? {} : { key: o.key }),
    };
    const ws = new WebSocket(url, [...(o.protocols ?? [SUBPROTOCOL])], opts);
    const client = new StreamClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => {
        resolve();
      });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          reject(new UpgradeRefused(res.statusCode ?? 0, body));
        });
        res.on('error', () => {
          reject(new UpgradeRefused(res.statusCode ?? 0, body));
        });
      });
      ws.once('error', reject);
    });
    return client;
  }

  /** Waits for the first message after index `from` that `pred` accepts. */
  async waitFor<T extends ServerMessage>(
    pred: (m: ServerMessage) => m is T,
    timeoutMs?: number,
    from?: number,
  ): Promise<T>;
  async waitFor(
    pred: (m: ServerMessage) => boolean,
    timeoutMs?: number,
    from?: number,
  ): Promise<ServerMessage>;
  async waitFor(
    pred: (m: ServerMessage) => boolean,
    timeoutMs = 5_000,
    from = 0,
  ): Promise<ServerMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.messages.slice(from).find(pred);
      if (hit) return hit;
      if (this.ws.readyState === WebSocket.CLOSED)
        throw new Error(`closed while waiting; got ${this.types()}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no matching message within ${timeoutMs} ms; got ${this.types()}`);
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

  hello(): Promise<HelloMessage> {
    return this.waitFor(isType('hello'));
  }

  /** Sends `subscribe`; without options: a snapshot, then live events. */
  subscribe(o: { fromSeq?: number; epoch?: string; stats?: boolean } = {}): void {
    this.sendRaw(encodeMessage({ v: PROTOCOL_VERSION, type: 'subscribe', ...o }));
  }

  /** Sends anything (a string as is, anything else as JSON). */
  sendRaw(data: string | object): void {
    this.ws.send(typeof data === 'string' ? data : JSON.stringify(data));
  }

  /** Sends a command and waits for its `result` or `error` (and its `ack`, if there was one). */
  async command(
    c: CommandInput,
    timeoutMs = 10_000,
  ): Promise<{ ack: AckMessage | null; answer: ResultMessage | ErrorMessage }> {
    const from = this.messages.length;
    this.sendRaw({ v: PROTOCOL_VERSION, type: 'command', ...c });
    const answer = await this.waitFor(
      (m): m is ResultMessage | ErrorMessage =>
        (m.type === 'result' || m.type === 'error') && m.ref === c.id,
      timeoutMs,
      from,
    );
    const ack = this.messages
      .slice(from)
      .find((m): m is AckMessage => m.type === 'ack' && m.ref === c.id);
    return { ack: ack ?? null, answer };
  }

  /** Every `event` received, in order. */
  events(): EventMessage[] {
    return this.messages.filter((m): m is EventMessage => m.type === 'event');
  }

  /** The seq this client is at: the last event's or snapshot's. */
  lastSeq(): number {
    for (let i = this.messages.length - 1; i >= 0; i--) {
      const m = this.messages[i];
      if (m?.type === 'event' || m?.type === 'snapshot') return m.seq;
    }
    return 0;
  }

  types(): string {
    return this.messages.map((m) => m.type).join(',') || '(nothing)';
  }

  /** Closes and waits for the close to finish. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(1000, 'done');
    await this.closed;
  }
}

/** A type guard for `m.type === t`. */
export function isType<T extends ServerMessage['type']>(t: T) {
  return (m: ServerMessage): m is Extract<ServerMessage, { type: T }> => m.type === t;
}

/** Tries an upgrade: the refusal, or 'open' (then closed at once). */
export async function tryUpgrade(
  url: string,
  o: StreamClientOptions = {},
): Promise<UpgradeRefused | 'open'> {
  try {
    const c = await StreamClient.connect(url, o);
    await c.close();
    return 'open';
  } catch (err) {
    if (err instanceof UpgradeRefused) return err;
    throw err;
  }
}
