import { readFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { homedir } from 'node:os';
import { LibvirtError, LibvirtErrorCode } from '../errors.ts';
import type { Endpoint } from './uri.ts';

/** TLS material; defaults follow libvirt's pki layout (root: /etc/pki, others: ~/.pki/libvirt). */
export interface TlsFiles {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Skip checking the daemon's certificate against the CA (tests only). @default false */
  readonly insecure?: boolean;
}

export interface DialOptions {
  /** Deadline for the socket (and TLS handshake) to be ready. @default 10000 */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
  readonly tls?: TlsFiles;
}

function connectError(ep: Endpoint, why: string, cause?: unknown): LibvirtError {
  const where = ep.kind === 'unix' ? ep.path : `${ep.host}:${ep.port} (${ep.kind})`;
  return new LibvirtError(
    LibvirtErrorCode.CONNECT,
    `Cannot connect to libvirt at ${where}: ${why}`,
    { cause },
  );
}

/**
 * Opens the byte stream to the daemon. Over TLS it also reads the daemon's one-byte verdict
 * (0x01) on our certificate and address, sent right after the handshake (§4.1).
 */
export async function dial(ep: Endpoint, options: DialOptions = {}): Promise<Socket | TLSSocket> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const signal = AbortSignal.any([
    AbortSignal.timeout(timeoutMs),
    ...(options.signal ? [options.signal] : []),
  ]);
  let socket: Socket | TLSSocket;
  if (ep.kind === 'tls') {
    const files = await tlsMaterial(ep.pkiPath, options.tls ?? {});
    socket = tlsConnect({
      host: ep.host,
      port: ep.port,
      ca: files.ca,
      cert: files.cert,
      key: files.key,
      servername: /^[\d.:]+$/.test(ep.host) ? '' : ep.host,
      rejectUnauthorized: !(options.tls?.insecure ?? false),
    });
  } else if (ep.kind === 'tcp') {
    socket = createConnection({ host: ep.host, port: ep.port });
  } else {
    socket = createConnection({ path: ep.path });
  }
  const readyEvent = ep.kind === 'tls' ? 'secureConnect' : 'connect';
  try {
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const why = options.signal?.aborted ? 'aborted' : `no connection within ${timeoutMs} ms`;
        finish(connectError(ep, why, signal.reason));
      };
      const onError = (err: NodeJS.ErrnoException): void => {
        const hint =
          err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
            ? ' (is libvirtd or virtqemud running?)'
            : err.code === 'EACCES'
              ? ' (run as root or as a member of the libvirt group)'
              : '';
        finish(connectError(ep, `${err.message}${hint}`, err));
      };
      const onReady = (): void => {
        finish(null);
      };
      const finish = (err: Error | null): void => {
        signal.removeEventListener('abort', onAbort);
        socket.off('error', onError);
        socket.off(readyEvent, onReady);
        if (err) reject(err);
        else resolve();
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('error', onError);
      socket.once(readyEvent, onReady);
    });
    if (ep.kind === 'tls') {
      await readTlsVerdict(socket, ep, signal, () =>
        options.signal?.aborted ? 'aborted' : `no TLS verdict byte within ${timeoutMs} ms`,
      );
    }
  } catch (err) {
    socket.destroy();
    throw err;
  }
  socket.setNoDelay(true);
  return socket;
}

function readTlsVerdict(
  socket: Socket,
  ep: Endpoint,
  signal: AbortSignal,
  abortReason: () => string,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
      signal.removeEventListener('abort', onAbort);
    };
    const onReadable = (): void => {
      const b = socket.read(1) as Buffer | null;
      if (b === null) return;
      cleanup();
      if (b[0] === 1) resolve();
      else
        reject(
          connectError(ep, `the daemon refused our certificate or address (verdict byte ${b[0]})`),
        );
    };
    const onEnd = (): void => {
      cleanup();
      reject(
        connectError(
          ep,
          'the daemon refused our certificate or address (closed before its verdict)',
        ),
      );
    };
    // A deadline or the caller's abort is not a refusal: say which it was.
    const onAbort = (): void => {
      cleanup();
      reject(connectError(ep, abortReason(), signal.reason));
    };
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('error', onEnd);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

async function tlsMaterial(
  pkiPath: string | null,
  files: TlsFiles,
): Promise<{ ca: Buffer; cert: Buffer; key: Buffer }> {
  const root = process.getuid?.() === 0;
  const base = pkiPath ?? (root ? null : `${homedir()}/.pki/libvirt`);
  const caFile = files.caFile ?? (base ? `${base}/cacert.pem` : '/etc/pki/CA/cacert.pem');
  const certFile =
    files.certFile ?? (base ? `${base}/clientcert.pem` : '/etc/pki/libvirt/clientcert.pem');
  const keyFile =
    files.keyFile ?? (base ? `${base}/clientkey.pem` : '/etc/pki/libvirt/private/clientkey.pem');
  const read = async (p: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(p);
    } catch (err) {
      throw new LibvirtError(
        LibvirtErrorCode.CONNECT,
        `Cannot read TLS ${what} ${p}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  };
  return {
    ca: await read(caFile, 'CA certificate'),
    cert: await read(certFile, 'client certificate'),
    key: await read(keyFile, 'client key'),
  };
}
