import { performance } from 'node:perf_hooks';
import {
  CloseReason,
  isVirError,
  LibvirtAbortError,
  LibvirtError,
  LibvirtErrorCode,
  LibvirtProtocolError,
  LibvirtTimeoutError,
  VirErrorCode,
} from './errors.ts';
import { AuthType, ConnectFlags, Feature, Program } from './protocol/constants.ts';
import type { Header } from './protocol/header.ts';
import type { Domain } from './protocol/types.ts';
import { CONNECTION_CLOSED_PROC, eventSpecByProc } from './events/decode.ts';
import type { DomainEvent } from './events/decode.ts';
import * as P from './procedures/connect.ts';
import { MAX_TIMER_MS, RpcConnection } from './rpc/connection.ts';
import type { CallOptions, CloseInfo, RpcConnectionOptions } from './rpc/connection.ts';
import type { Procedure } from './rpc/procedure.ts';
import { XdrReader } from './xdr/reader.ts';
import { dial } from './transport/dial.ts';
import type { TlsFiles } from './transport/dial.ts';
import { parseLibvirtUri } from './transport/uri.ts';
import type { Endpoint } from './transport/uri.ts';

/** Options of {@link LibvirtConnection.open}. */
export interface OpenOptions extends RpcConnectionOptions {
  /** @default 'qemu:///system' */
  readonly uri?: string;
  /** Open read-only (the `-ro` socket and the RO flag). @default false */
  readonly readOnly?: boolean;
  /** Use this UNIX socket instead of the one the URI implies. */
  readonly socketPath?: string;
  /** Deadline for the socket and the whole handshake. @default 10000 */
  readonly connectTimeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
  readonly tls?: TlsFiles;
}

/** What the handshake learned. */
export interface ConnectionInfo {
  readonly uri: string;
  readonly endpoint: Endpoint;
  /** libvirt version as major·1,000,000 + minor·1,000 + micro. */
  readonly libVersion: number;
  readonly authTypes: readonly number[];
  readonly handshakeMs: number;
}

/** Receives decoded events by server callback ID. Set by the event registry. */
export type EventSink = (event: DomainEvent) => void;

/**
 * An open, authenticated libvirt connection: the handshake the C client does (AUTH_LIST
 * first, keepalive feature, CONNECT_OPEN, event-callback feature), typed calls, and decoded
 * events handed to the sink. It never reconnects; {@link closed} says when and why it ended.
 */
export class LibvirtConnection {
  readonly #rpc: RpcConnection;
  #info: ConnectionInfo | null = null;
  #sink: EventSink = () => undefined;
  #ignoredMessages = 0;
  #closing: Promise<void> | null = null;

  private constructor(rpc: RpcConnection) {
    this.#rpc = rpc;
    rpc.setMessageHandler((h, payload) => {
      this.#onMessage(h, payload);
    });
  }

  /** Connects, authenticates and opens `uri`. Rejects with a clear {@link LibvirtError}. */
  static async open(options: OpenOptions = {}): Promise<LibvirtConnection> {
    const started = performance.now();
    const uri = options.uri ?? 'qemu:///system';
    let endpoint = parseLibvirtUri(uri, { readOnly: options.readOnly ?? false });
    if (options.socketPath !== undefined) {
      endpoint = { kind: 'unix', path: options.socketPath, name: endpoint.name };
    }
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    if (!(timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)) {
      throw new RangeError(
        `Cannot open libvirt connection ${uri}: connectTimeoutMs must be between 1 and ${MAX_TIMER_MS}, got ${timeoutMs}`,
      );
    }
    const signal = AbortSignal.any([
      AbortSignal.timeout(timeoutMs),
      ...(options.signal ? [options.signal] : []),
    ]);
    const socket = await dial(endpoint, {
      timeoutMs,
      signal: options.signal,
      ...(options.tls ? { tls: options.tls } : {}),
    });
    let rpc: RpcConnection;
    try {
      rpc = new RpcConnection(socket, options);
    } catch (err) {
      socket.destroy(); // invalid options: do not leak the socket we just opened
      throw err;
    }
    const conn = new LibvirtConnection(rpc);
    try {
      const opts: CallOptions = { signal, timeoutMs };
      const authTypes = await conn.call(P.authList, undefined, opts);
      if (!authTypes.includes(AuthType.NONE) && authTypes.length > 0) {
        if (authTypes.includes(AuthType.POLKIT)) {
          await conn.call(P.authPolkit, undefined, opts);
        } else {
          throw new LibvirtError(
            LibvirtErrorCode.AUTH,
            `Cannot authenticate to libvirt at ${uri}: the daemon offers only SASL, which virt-ft does not speak; use the local socket as root or a polkit-allowed user`,
          );
        }
      }
      await conn.call(P.connectSupportsFeature, Feature.PROGRAM_KEEPALIVE, opts);
      await conn.call(
        P.connectOpen,
        { name: endpoint.name, flags: options.readOnly ? ConnectFlags.RO : 0 },
        opts,
      );
      // Independent questions go out together: one round trip instead of three.
      const [callbacks, closeCallback, libVersionBig] = await Promise.all([
        conn.call(P.connectSupportsFeature, Feature.REMOTE_EVENT_CALLBACK, opts),
        conn.call(P.connectSupportsFeature, Feature.REMOTE_CLOSE_CALLBACK, opts),
        conn.call(P.connectGetLibVersion, undefined, opts),
      ]);
      if (!callbacks) {
        throw new LibvirtError(
          LibvirtErrorCode.CONNECT,
          `Cannot use libvirt at ${uri}: the daemon lacks event callbacks (libvirt older than 1.2.1)`,
        );
      }
      if (closeCallback) await conn.call(P.connectRegisterCloseCallback, undefined, opts);
      const libVersion = Number(libVersionBig);
      conn.#info = {
        uri,
        endpoint,
        libVersion,
        authTypes,
        handshakeMs: Math.round(performance.now() - started),
      };
      return conn;
    } catch (err) {
      conn.#rpc.destroy(CloseReason.CLIENT, null, 'handshake failed');
      // The handshake's deadline aborts the pending call through `signal`: that is a timeout,
      // not the caller's cancellation, and must not read as one (a supervisor stops on abort).
      if (
        err instanceof LibvirtTimeoutError ||
        (err instanceof LibvirtAbortError && !(options.signal?.aborted ?? false))
      ) {
        const step = /^[A-Z_]+/.exec(err.message)?.[0] ?? 'the handshake';
        throw new LibvirtTimeoutError(
          `Cannot open libvirt connection ${uri}: no answer within ${timeoutMs} ms (waiting for ${step})`,
          timeoutMs,
        );
      }
      if (err instanceof LibvirtError && err.code !== LibvirtErrorCode.REMOTE) throw err;
      throw new LibvirtError(
        isVirError(err, VirErrorCode.AUTH_FAILED) || isVirError(err, VirErrorCode.RPC)
          ? LibvirtErrorCode.AUTH
          : LibvirtErrorCode.CONNECT,
        `Cannot open libvirt connection ${uri}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  get info(): ConnectionInfo {
    if (!this.#info)
      throw new LibvirtError(LibvirtErrorCode.CONNECT, 'The connection is not open yet');
    return this.#info;
  }

  /** Resolves (never rejects) when the connection ends, with the reason. */
  get closed(): Promise<CloseInfo> {
    return this.#rpc.closed;
  }

  get isClosed(): boolean {
    return this.#rpc.isClosed;
  }

  /** Event messages for unknown callbacks or procedures (ignored, counted). */
  get ignoredMessages(): number {
    return this.#ignoredMessages;
  }

  get inFlight(): number {
    return this.#rpc.inFlight;
  }

  /** Where decoded events go. The {@link EventRegistry} sets this. */
  setEventSink(sink: EventSink): void {
    this.#sink = sink;
  }

  /** Issues one procedure call with a deadline and an optional AbortSignal. */
  call<A, R>(proc: Procedure<A, R>, args: A, options?: CallOptions): Promise<R> {
    return this.#rpc.call(proc, args, options);
  }

  /**
   * Says goodbye (CONNECT_CLOSE, so the daemon logs no EOF error) and closes. Pending calls
   * are rejected. Idempotent; a second caller shares the first one's promise.
   */
  close(timeoutMs = 2_000): Promise<void> {
    this.#closing ??= (async () => {
      if (!this.#rpc.isClosed) {
        try {
          await this.#rpc.call(P.connectClose, undefined, { timeoutMs });
        } catch {
          // Closing anyway: the daemon may already be gone.
        }
      }
      this.#rpc.destroy(CloseReason.CLIENT, null, 'closed by the client');
    })();
    return this.#closing;
  }

  /** Closes at once without CONNECT_CLOSE. */
  destroy(error?: Error): void {
    this.#rpc.destroy(error ? CloseReason.ERROR : CloseReason.CLIENT, error ?? null);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #onMessage(h: Header, payload: Buffer): void {
    if (h.prog === Program.REMOTE && h.proc === CONNECTION_CLOSED_PROC) {
      const r = new XdrReader(payload);
      const reason = r.int32();
      r.done('CONNECT_EVENT_CONNECTION_CLOSED');
      this.#rpc.destroy(
        CloseReason.EOF,
        null,
        `the daemon lost its connection to the hypervisor driver (reason ${reason})`,
      );
      return;
    }
    const spec = h.prog === Program.REMOTE ? eventSpecByProc(h.proc) : undefined;
    if (!spec) {
      this.#ignoredMessages++;
      return;
    }
    const r = new XdrReader(payload);
    const callbackId = r.int32();
    const event = spec.decode(r, callbackId, new Date());
    r.done(`event ${event.event}`);
    this.#sink(event);
  }
}

/** Expected absence as a value: resolves `null` when libvirt answers with `code`. */
export async function orNull<T>(p: Promise<T>, code: number): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if (isVirError(err, code)) return null;
    throw err;
  }
}

export { LibvirtProtocolError };
export type { Domain };
