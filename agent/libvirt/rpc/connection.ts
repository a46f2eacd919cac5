import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import {
  CloseReason,
  LibvirtAbortError,
  LibvirtClosedError,
  LibvirtError,
  LibvirtErrorCode,
  LibvirtProtocolError,
  LibvirtRemoteError,
  LibvirtTimeoutError,
} from '../errors.ts';
import {
  KeepaliveProc,
  MAX_FRAME_BYTES,
  MessageStatus,
  MessageType,
  Program,
} from '../protocol/constants.ts';
import { Framer } from '../protocol/framer.ts';
import type { Header } from '../protocol/header.ts';
import { decodeHeader, emptyFrame, encodeHeaderInto, PAYLOAD_OFFSET } from '../protocol/header.ts';
import { readRemoteError } from '../protocol/types.ts';
import { XdrReader } from '../xdr/reader.ts';
import { XdrWriter } from '../xdr/writer.ts';
import type { Procedure } from './procedure.ts';

/** Longest delay a Node timer can hold; a longer one fires after 1 ms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Options of one RPC connection. */
export interface RpcConnectionOptions {
  /**
   * Calls on the wire at once; the rest wait in a local queue. The daemon stops reading a
   * socket with `max_client_requests` (default 5) calls in flight, keepalive included.
   * @default 4
   */
  readonly maxInFlight?: number;
  /** Deadline of a call that does not give its own, from the moment it is issued. @default 30000 */
  readonly callTimeoutMs?: number;
  /** Keepalive: a PING after this much silence; `0` turns our PINGs off. @default 5000 */
  readonly keepaliveIntervalMs?: number;
  /** Keepalive: the peer is dead after `interval × count` of silence. @default 5 */
  readonly keepaliveCount?: number;
}

/** Per-call options. */
export interface CallOptions {
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
}

/** Why and when the connection ended. */
export interface CloseInfo {
  readonly reason: CloseReason;
  readonly error: Error | null;
  /** Why, in words (e.g. the keepalive silence, the wedged slots, the socket error). */
  readonly message: string;
}

/** A server-originated MESSAGE (an event) on the REMOTE or QEMU program. */
export type MessageHandler = (header: Header, payload: Buffer) => void;

interface Pending {
  readonly proc: Procedure<unknown, unknown>;
  readonly args: unknown;
  serial: number;
  state: 'queued' | 'sent' | 'abandoned';
  /** When a sent call was given up on (its slot is still held). */
  abandonedAt?: number;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  cleanup: () => void;
}

/**
 * One libvirt RPC connection over a connected byte stream: framing, serials, many calls in
 * flight matched by serial with a bound and a queue, deadlines and AbortSignal per call,
 * keepalive, routing of incoming frames by program and type before serial (events carry
 * serial 1), and a single close that rejects every pending call at once.
 *
 * It never reconnects: {@link closed} resolves with the reason, and the owner decides.
 */
export class RpcConnection {
  readonly #socket: Duplex;
  readonly #framer = new Framer();
  readonly #maxInFlight: number;
  readonly #callTimeoutMs: number;
  readonly #keepaliveIntervalMs: number;
  readonly #keepaliveCount: number;
  readonly #pending = new Map<number, Pending>();
  readonly #queue: Pending[] = [];
  #inFlight = 0;
  #nextSerial = 1;
  #closeInfo: CloseInfo | null = null;
  #resolveClosed!: (info: CloseInfo) => void;
  readonly #closed: Promise<CloseInfo>;
  #lastRx = performance.now();
  #keepaliveTimer: NodeJS.Timeout | null = null;
  #wedgeTimer: NodeJS.Timeout | null = null;
  #onMessage: MessageHandler = () => undefined;

  constructor(socket: Duplex, options: RpcConnectionOptions = {}) {
    this.#maxInFlight = positiveInt('maxInFlight', options.maxInFlight ?? 4);
    this.#callTimeoutMs = positiveInt(
      'callTimeoutMs',
      options.callTimeoutMs ?? 30_000,
      MAX_TIMER_MS,
    );
    this.#keepaliveIntervalMs = nonNegativeInt(
      'keepaliveIntervalMs',
      options.keepaliveIntervalMs ?? 5_000,
      MAX_TIMER_MS,
    );
    this.#keepaliveCount = positiveInt('keepaliveCount', options.keepaliveCount ?? 5);
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#onData(chunk);
    });
    socket.on('end', () => {
      this.destroy(CloseReason.EOF, null, 'the daemon closed the connection');
    });
    socket.on('close', () => {
      this.destroy(CloseReason.EOF, null, 'the connection closed');
    });
    socket.on('error', (err: Error) => {
      this.destroy(CloseReason.ERROR, err, `socket error: ${err.message}`);
    });
    this.#armKeepalive();
  }

  /** Resolves (never rejects) once the connection has ended, with the reason. */
  get closed(): Promise<CloseInfo> {
    return this.#closed;
  }

  get isClosed(): boolean {
    return this.#closeInfo !== null;
  }

  /** Calls currently on the wire, including abandoned ones whose reply has not come. */
  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Sets the handler of event messages. It must not throw; a throw closes the connection. */
  setMessageHandler(handler: MessageHandler): void {
    this.#onMessage = handler;
  }

  /** Issues a call and resolves with its decoded return value. */
  call<A, R>(proc: Procedure<A, R>, args: A, options: CallOptions = {}): Promise<R> {
    if (this.#closeInfo) {
      return Promise.reject(
        new LibvirtClosedError(
          this.#closeInfo.reason,
          `Cannot call ${proc.name}: the libvirt connection is closed (${this.#closeInfo.reason})`,
          { cause: this.#closeInfo.error },
        ),
      );
    }
    const { signal } = options;
    if (signal?.aborted) {
      return Promise.reject(
        new LibvirtAbortError(`${proc.name} aborted before it was sent`, { cause: signal.reason }),
      );
    }
    const timeoutMs = options.timeoutMs ?? this.#callTimeoutMs;
    if (!(timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)) {
      return Promise.reject(
        new RangeError(
          `Cannot call ${proc.name}: timeoutMs must be between 1 and ${MAX_TIMER_MS}, got ${timeoutMs}`,
        ),
      );
    }
    return new Promise<R>((resolve, reject) => {
      const p: Pending = {
        proc: proc as Procedure<unknown, unknown>,
        args,
        serial: -1,
        state: 'queued',
        resolve: resolve as (v: unknown) => void,
        reject,
        cleanup: () => undefined,
      };
      const timer = setTimeout(() => {
        this.#giveUp(
          p,
          new LibvirtTimeoutError(`${proc.name} timed out after ${timeoutMs} ms`, timeoutMs),
        );
      }, timeoutMs);
      const onAbort = (): void => {
        this.#giveUp(p, new LibvirtAbortError(`${proc.name} aborted`, { cause: signal?.reason }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      p.cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      if (this.#inFlight < this.#maxInFlight) this.#send(p);
      else this.#queue.push(p);
    });
  }

  /**
   * Ends the connection now: every pending and queued call is rejected with
   * {@link LibvirtClosedError}, and {@link closed} resolves. Idempotent.
   */
  destroy(reason: CloseReason, error: Error | null, message?: string): void {
    if (this.#closeInfo) return;
    const info: CloseInfo = { reason, error, message: message ?? error?.message ?? reason };
    this.#closeInfo = info;
    if (this.#keepaliveTimer) clearTimeout(this.#keepaliveTimer);
    this.#keepaliveTimer = null;
    if (this.#wedgeTimer) clearTimeout(this.#wedgeTimer);
    this.#wedgeTimer = null;
    const text = message ?? error?.message ?? reason;
    const all = [...this.#queue, ...this.#pending.values()];
    this.#queue.length = 0;
    this.#pending.clear();
    this.#inFlight = 0;
    for (const p of all) {
      if (p.state === 'abandoned') continue;
      p.state = 'abandoned';
      p.cleanup();
      p.reject(
        new LibvirtClosedError(
          reason,
          `${p.proc.name} failed: libvirt connection lost (${text}); the outcome is unknown`,
          { cause: error },
        ),
      );
    }
    this.#socket.destroy();
    this.#resolveClosed(info);
  }

  #send(p: Pending): void {
    let frame: Buffer;
    try {
      const w = new XdrWriter(256, PAYLOAD_OFFSET);
      if (p.proc.encode) p.proc.encode(w, p.args);
      frame = w.bytes();
      if (frame.length > MAX_FRAME_BYTES) {
        throw new LibvirtError(
          LibvirtErrorCode.INVALID_ARGUMENT,
          `Cannot send ${p.proc.name}: ${frame.length} bytes exceeds the ${MAX_FRAME_BYTES}-byte frame limit`,
        );
      }
    } catch (err) {
      p.cleanup();
      p.reject(err instanceof Error ? err : new Error(String(err)));
      this.#pump();
      return;
    }
    p.serial = this.#allocSerial();
    p.state = 'sent';
    this.#pending.set(p.serial, p);
    this.#inFlight++;
    encodeHeaderInto(frame, {
      prog: p.proc.prog,
      proc: p.proc.proc,
      type: MessageType.CALL,
      serial: p.serial,
    });
    this.#socket.write(frame);
  }

  #allocSerial(): number {
    for (;;) {
      const s = this.#nextSerial;
      this.#nextSerial = (this.#nextSerial + 1) >>> 0;
      if (!this.#pending.has(s)) return s;
    }
  }

  #giveUp(p: Pending, err: Error): void {
    if (p.state === 'abandoned') return;
    p.cleanup();
    if (p.state === 'queued') {
      const i = this.#queue.indexOf(p);
      if (i >= 0) this.#queue.splice(i, 1);
    }
    // A sent call keeps its serial and its slot until the late reply arrives: the daemon
    // still counts it against max_client_requests, and we must recognise the reply.
    const wasSent = p.state === 'sent';
    p.state = 'abandoned';
    if (wasSent) {
      p.abandonedAt = performance.now();
      this.#checkWedged();
    }
    p.reject(err);
  }

  /**
   * Every slot held by a call we gave up on, the oldest for longer than a whole call deadline:
   * nothing can be sent any more while keepalive still says the daemon is alive. The
   * connection is wedged; close it so the owner can reconnect (the daemon keeps working on
   * the old calls either way).
   */
  #checkWedged(): void {
    if (this.#inFlight < this.#maxInFlight || this.#wedgeTimer) return;
    const all = [...this.#pending.values()];
    if (!all.every((x) => x.state === 'abandoned')) return;
    const oldest = Math.min(...all.map((x) => x.abandonedAt ?? performance.now()));
    const wait = Math.max(0, oldest + this.#callTimeoutMs - performance.now());
    this.#wedgeTimer = setTimeout(() => {
      this.#wedgeTimer = null;
      const held = [...this.#pending.values()];
      if (this.#inFlight >= this.#maxInFlight && held.every((x) => x.state === 'abandoned')) {
        this.destroy(
          CloseReason.ERROR,
          null,
          `all ${this.#maxInFlight} call slots held by calls with no reply for over ${this.#callTimeoutMs} ms past their deadline (${held.map((x) => x.proc.name).join(', ')}): connection wedged`,
        );
      }
    }, wait);
    this.#wedgeTimer.unref();
  }

  #pump(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0 && !this.#closeInfo) {
      const next = this.#queue.shift();
      if (next) this.#send(next);
    }
  }

  #onData(chunk: Buffer): void {
    this.#lastRx = performance.now();
    // Route the whole frames that precede a framing error before failing: what arrived intact
    // must not depend on how the stream was split into chunks.
    const frames: Buffer[] = [];
    let framingError: unknown = null;
    try {
      this.#framer.push(chunk, frames);
    } catch (err) {
      framingError = err;
    }
    for (const frame of frames) {
      if (this.#closeInfo) return;
      try {
        this.#route(frame);
      } catch (err) {
        this.#fail(err);
        return;
      }
    }
    if (framingError !== null) this.#fail(framingError);
  }

  #fail(err: unknown): void {
    const e =
      err instanceof LibvirtProtocolError
        ? err
        : new LibvirtProtocolError(`Cannot process a message from libvirt: ${String(err)}`, {
            cause: err,
          });
    this.destroy(CloseReason.PROTOCOL, e, e.message);
  }

  #route(frame: Buffer): void {
    const h = decodeHeader(frame);
    const payload = frame.subarray(PAYLOAD_OFFSET);
    if (h.vers !== 1) throw new LibvirtProtocolError(`Unexpected program version ${h.vers}`);
    if (h.prog === Program.KEEPALIVE) {
      if (h.type !== MessageType.MESSAGE) {
        throw new LibvirtProtocolError(`Unexpected keepalive message type ${h.type}`);
      }
      if (h.proc === KeepaliveProc.PING) {
        this.#socket.write(
          emptyFrame({
            prog: Program.KEEPALIVE,
            proc: KeepaliveProc.PONG,
            type: MessageType.MESSAGE,
            serial: 0,
          }),
        );
      } else if (h.proc !== KeepaliveProc.PONG) {
        throw new LibvirtProtocolError(`Unknown keepalive procedure ${h.proc}`);
      }
      return;
    }
    switch (h.type) {
      case MessageType.MESSAGE:
        if (h.prog !== Program.REMOTE && h.prog !== Program.QEMU) {
          throw new LibvirtProtocolError(`Unexpected event from program 0x${h.prog.toString(16)}`);
        }
        this.#onMessage(h, payload);
        return;
      case MessageType.REPLY:
      case MessageType.REPLY_WITH_FDS:
        this.#onReply(h, payload);
        return;
      default:
        throw new LibvirtProtocolError(
          `Unexpected message type ${h.type} (proc ${h.proc}, serial ${h.serial}) from the daemon`,
        );
    }
  }

  #onReply(h: Header, payload: Buffer): void {
    const p = this.#pending.get(h.serial);
    if (!p)
      throw new LibvirtProtocolError(`Reply with unknown serial ${h.serial} (proc ${h.proc})`);
    if (h.prog !== p.proc.prog || h.proc !== p.proc.proc) {
      throw new LibvirtProtocolError(
        `Reply for serial ${h.serial} names proc ${h.proc}, but ${p.proc.name} (${p.proc.proc}) was called`,
      );
    }
    if (h.type === MessageType.REPLY_WITH_FDS) {
      throw new LibvirtProtocolError(
        `${p.proc.name}: replies with file descriptors are not supported`,
      );
    }
    this.#pending.delete(h.serial);
    this.#inFlight--;
    const wasAbandoned = p.state === 'abandoned';
    p.state = 'abandoned';
    p.cleanup();
    try {
      if (h.status === MessageStatus.OK) {
        const r = new XdrReader(payload);
        const value = p.proc.decode ? p.proc.decode(r) : undefined;
        r.done(`${p.proc.name} reply`);
        if (!wasAbandoned) p.resolve(value);
      } else if (h.status === MessageStatus.ERROR) {
        const r = new XdrReader(payload);
        const fields = readRemoteError(r);
        r.done(`${p.proc.name} error reply`);
        if (!wasAbandoned) p.reject(new LibvirtRemoteError(p.proc.name, fields));
      } else {
        throw new LibvirtProtocolError(`${p.proc.name}: reply with status ${h.status}`);
      }
    } catch (err) {
      if (!wasAbandoned) p.reject(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
    this.#pump();
  }

  #armKeepalive(): void {
    if (this.#keepaliveIntervalMs === 0) return;
    const interval = this.#keepaliveIntervalMs;
    const deadAfter = interval * this.#keepaliveCount;
    const tick = (): void => {
      if (this.#closeInfo) return;
      const silence = performance.now() - this.#lastRx;
      if (silence >= deadAfter) {
        this.destroy(
          CloseReason.KEEPALIVE,
          null,
          `no answer from libvirt for ${Math.round(silence)} ms (keepalive ${interval} ms × ${this.#keepaliveCount})`,
        );
        return;
      }
      if (silence >= interval) {
        this.#socket.write(
          emptyFrame({
            prog: Program.KEEPALIVE,
            proc: KeepaliveProc.PING,
            type: MessageType.MESSAGE,
            serial: 0,
          }),
        );
      }
      // Next check at the next interval boundary of silence, or at the death line.
      const untilNextPing = interval - (silence % interval);
      this.#keepaliveTimer = setTimeout(
        tick,
        Math.max(1, Math.min(untilNextPing, deadAfter - silence)),
      );
      this.#keepaliveTimer.unref();
    };
    this.#keepaliveTimer = setTimeout(tick, interval);
    this.#keepaliveTimer.unref();
  }
}

function positiveInt(name: string, v: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || v <= 0 || v > max) {
    throw new RangeError(`Cannot use ${name}: must be an integer from 1 to ${max}, got ${v}`);
  }
  return v;
}

function nonNegativeInt(name: string, v: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`Cannot use ${name}: must be an integer from 0 to ${max}, got ${v}`);
  }
  return v;
}
