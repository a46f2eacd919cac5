/**
 * A fake libvirtd: a UNIX socket server in its own tmpdir that speaks enough of libvirt's RPC
 * protocol to take `LibvirtConnection.open({ socketPath, uri: 'test:///default' })` through
 * the handshake, then lets each test script the daemon's side: replies out of order, late or
 * never, error replies, events, keepalive, garbage, silence, a dropped socket.
 *
 * Independent of agent/libvirt: it frames and encodes with test/helpers/xdr-builders.ts.
 *
 *   const fake = await FakeLibvirtd.start(t);          // closed by t.after
 *   fake.on(59, (call, peer) => peer.reply(call, str('fakehost')));
 *   const conn = await LibvirtConnection.open({ socketPath: fake.socketPath, uri: 'test:///default' });
 *   const peer = await fake.nextPeer();
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

import {
  arr,
  errorReply,
  eventFrame,
  frame,
  i32,
  parseFrame,
  PING,
  PONG,
  Proc,
  PROG_KEEPALIVE,
  T_CALL,
  T_MESSAGE,
  T_REPLY,
  uhyper,
} from './xdr-builders.ts';
import type { HeaderInput, ParsedFrame, RemoteErrorInput } from './xdr-builders.ts';

export type CallHandler = (call: ParsedFrame, peer: FakePeer) => void;

export interface FakeOptions {
  /** AUTH_LIST's answer. @default [0] (NONE) */
  readonly authTypes?: readonly number[];
  /** CONNECT_SUPPORTS_FEATURE answers by feature number; unlisted features answer 1. */
  readonly features?: Readonly<Record<number, number>>;
  /** CONNECT_GET_LIB_VERSION's answer. @default 9000000n */
  readonly libVersion?: bigint;
  /** Answer keepalive PINGs with PONGs. @default true */
  readonly autoPong?: boolean;
  /** First callback ID handed out by EVENT_REGISTER_ANY. @default 100 */
  readonly firstCallbackId?: number;
}

interface Waiter {
  readonly pred: (f: ParsedFrame) => boolean;
  readonly resolve: (f: ParsedFrame) => void;
}

/** The daemon's side of one client connection. */
export class FakePeer {
  readonly socket: Socket;
  /** Every frame received, in order. */
  readonly frames: ParsedFrame[] = [];
  /** Every CALL received, in order. */
  readonly calls: ParsedFrame[] = [];
  /** CALLs not answered yet, by serial. */
  readonly unanswered = new Map<number, ParsedFrame>();
  /** The most CALLs that were unanswered at once. */
  maxConcurrent = 0;
  /** Event callbacks registered through EVENT_REGISTER_ANY: callbackID → eventID. */
  readonly callbacks = new Map<number, number>();
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;
  readonly #server: FakeLibvirtd;
  readonly #handlers = new Map<number, CallHandler>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #waiters: Waiter[] = [];
  #buf: Buffer = Buffer.alloc(0);

  constructor(server: FakeLibvirtd, socket: Socket) {
    this.#server = server;
    this.socket = socket;
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        resolve();
      }),
    );
    socket.on('data', (chunk: Buffer) => {
      this.#onData(chunk);
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      for (const t of this.#timers) clearTimeout(t);
      this.#timers.clear();
    });
  }

  get isClosed(): boolean {
    return this.socket.destroyed;
  }

  /** Handles CALLs of `proc` on this connection (overrides the server's handler). */
  on(proc: number, handler: CallHandler): this {
    this.#handlers.set(proc, handler);
    return this;
  }

  /** Runs `fn` after `ms`, unless the connection closed meanwhile. */
  later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (!this.socket.destroyed) fn();
    }, ms);
    this.#timers.add(t);
  }

  /** Writes raw bytes. */
  write(bytes: Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  send(h: HeaderInput, ...payload: Buffer[]): void {
    this.write(frame(h, ...payload));
  }

  /** A successful REPLY to `call` with the given payload. */
  reply(call: ParsedFrame, ...payload: Buffer[]): void {
    this.unanswered.delete(call.serial);
    this.send({ prog: call.prog, proc: call.proc, serial: call.serial, type: T_REPLY }, ...payload);
  }

  /** An error REPLY (`remote_error`) to `call`. */
  replyError(call: ParsedFrame, e: RemoteErrorInput = {}): void {
    this.unanswered.delete(call.serial);
    const f = errorReply(call.proc, call.serial, e);
    f.writeUInt32BE(call.prog, 4);
    this.write(f);
  }

  /** An event message (REMOTE, MESSAGE, serial 1). */
  event(proc: number, ...payload: Buffer[]): void {
    this.write(eventFrame(proc, ...payload));
  }

  ping(): void {
    this.write(PING());
  }

  /** FIN: a clean EOF for the client. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Resolves with the first frame (already received or future) that matches. */
  waitFor(pred: (f: ParsedFrame) => boolean, timeoutMs = 2_000): Promise<ParsedFrame> {
    const seen = this.frames.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`fake libvirtd: no matching frame within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        pred,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /** Resolves once `n` CALLs of `proc` have arrived, with all of them. */
  async waitForCalls(proc: number, n = 1, timeoutMs = 2_000): Promise<ParsedFrame[]> {
    let count = 0;
    await this.waitFor((f) => f.type === T_CALL && f.proc === proc && ++count >= n, timeoutMs);
    return this.calls.filter((c) => c.proc === proc);
  }

  #onData(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    while (this.#buf.length >= 4) {
      const len = this.#buf.readUInt32BE(0);
      if (len < 28 || len > 4 + 32 * 1024 * 1024) {
        this.socket.destroy();
        return;
      }
      if (this.#buf.length < len) return;
      const raw = Buffer.from(this.#buf.subarray(0, len));
      this.#buf = this.#buf.subarray(len);
      this.#onFrame(parseFrame(raw));
    }
  }

  #onFrame(f: ParsedFrame): void {
    this.frames.push(f);
    if (f.prog === PROG_KEEPALIVE && f.type === T_MESSAGE) {
      if (f.proc === 1 && this.#server.options.autoPong !== false) this.write(PONG());
    } else if (f.type === T_CALL) {
      this.calls.push(f);
      this.unanswered.set(f.serial, f);
      this.maxConcurrent = Math.max(this.maxConcurrent, this.unanswered.size);
      const handler = this.#handlers.get(f.proc) ?? this.#server.handlerFor(f.proc);
      handler?.(f, this);
    }
    const ready = this.#waiters.filter((w) => w.pred(f));
    this.#waiters = this.#waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve(f);
  }
}

/** The fake daemon: a UNIX socket server that hands each connection a {@link FakePeer}. */
export class FakeLibvirtd {
  readonly dir: string;
  readonly socketPath: string;
  readonly options: FakeOptions;
  readonly peers: FakePeer[] = [];
  readonly #server: Server;
  readonly #handlers = new Map<number, CallHandler>();
  #handedOut = 0;
  #peerWaiters: (() => void)[] = [];
  #nextCallbackId: number;

  private constructor(dir: string, server: Server, options: FakeOptions) {
    this.dir = dir;
    this.socketPath = join(dir, 'libvirt-sock');
    this.#server = server;
    this.options = options;
    this.#nextCallbackId = options.firstCallbackId ?? 100;
    this.#installDefaults();
  }

  /** Starts a fake in a fresh tmpdir; with `t`, it is closed by `t.after`. */
  static async start(t?: TestContext, options: FakeOptions = {}): Promise<FakeLibvirtd> {
    const dir = await mkdtemp(join(tmpdir(), 'virt-ft-fake-libvirtd-'));
    const server = createServer();
    const fake = new FakeLibvirtd(dir, server, options);
    server.on('connection', (socket) => {
      fake.peers.push(new FakePeer(fake, socket));
      const waiters = fake.#peerWaiters;
      fake.#peerWaiters = [];
      for (const w of waiters) w();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(fake.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    t?.after(() => fake.close());
    return fake;
  }

  /** Handles CALLs of `proc` on every connection (a peer's own handler wins). */
  on(proc: number, handler: CallHandler): this {
    this.#handlers.set(proc, handler);
    return this;
  }

  /** @internal */
  handlerFor(proc: number): CallHandler | undefined {
    return this.#handlers.get(proc);
  }

  /** The next connection not handed out yet, waiting for it if needed. */
  async nextPeer(timeoutMs = 2_000): Promise<FakePeer> {
    const deadline = Date.now() + timeoutMs;
    while (this.#handedOut >= this.peers.length) {
      if (Date.now() > deadline) throw new Error('fake libvirtd: no connection arrived');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#peerWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const peer = this.peers[this.#handedOut++];
    if (!peer) throw new Error('fake libvirtd: peer bookkeeping is broken');
    return peer;
  }

  async close(): Promise<void> {
    for (const p of this.peers) p.destroy();
    await new Promise<void>((resolve) =>
      this.#server.close(() => {
        resolve();
      }),
    );
    await rm(this.dir, { recursive: true, force: true });
  }

  #installDefaults(): void {
    const o = this.options;
    this.on(Proc.AUTH_LIST, (c, p) => {
      p.reply(c, arr((o.authTypes ?? [0]).map((a) => i32(a))));
    });
    this.on(Proc.CONNECT_SUPPORTS_FEATURE, (c, p) => {
      const feature = c.payload.readInt32BE(0);
      p.reply(c, i32(o.features?.[feature] ?? 1));
    });
    this.on(Proc.CONNECT_OPEN, (c, p) => {
      p.reply(c);
    });
    this.on(Proc.CONNECT_REGISTER_CLOSE_CALLBACK, (c, p) => {
      p.reply(c);
    });
    this.on(Proc.CONNECT_GET_LIB_VERSION, (c, p) => {
      p.reply(c, uhyper(o.libVersion ?? 9_000_000n));
    });
    this.on(Proc.CONNECT_CLOSE, (c, p) => {
      p.reply(c);
      p.end();
    });
    this.on(Proc.EVENT_REGISTER_ANY, (c, p) => {
      const id = this.#nextCallbackId++;
      p.callbacks.set(id, c.payload.readInt32BE(0));
      p.reply(c, i32(id));
    });
    this.on(Proc.EVENT_DEREGISTER_ANY, (c, p) => {
      p.callbacks.delete(c.payload.readInt32BE(0));
      p.reply(c);
    });
  }
}
