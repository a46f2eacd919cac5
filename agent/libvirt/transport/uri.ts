import { existsSync } from 'node:fs';
import { LibvirtError, LibvirtErrorCode } from '../errors.ts';

/** How to reach the daemon, and what name to send in CONNECT_OPEN. */
export type Endpoint =
  | { readonly kind: 'unix'; readonly path: string; readonly name: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly name: string }
  | {
      readonly kind: 'tls';
      readonly host: string;
      readonly port: number;
      readonly name: string;
      readonly pkiPath: string | null;
    };

/** Query parameters the C client consumes itself and never sends to the daemon (§4.4). */
const CLIENT_PARAMS = new Set([
  'name',
  'command',
  'socket',
  'auth',
  'sshauth',
  'netcat',
  'keyfile',
  'pkipath',
  'known_hosts',
  'known_hosts_verify',
  'tls_priority',
  'mode',
  'proxy',
  'no_sanity',
  'no_verify',
  'no_tty',
  'authfile',
]);

export const DEFAULT_RUN_DIR = '/var/run/libvirt';
export const TCP_PORT = 16509;
export const TLS_PORT = 16514;

function bad(uri: string, why: string): LibvirtError {
  return new LibvirtError(
    LibvirtErrorCode.INVALID_ARGUMENT,
    `Cannot use libvirt URI ${JSON.stringify(uri)}: ${why}`,
  );
}

/**
 * Parses a libvirt URI (`qemu:///system`, `test:///default`, `test:///abs/node.xml`,
 * `qemu+unix:///system?socket=…`, `qemu+tcp://host/system`, `qemu+tls://host/system`) into
 * an endpoint and the name the daemon expects: transport, host, user, port and client-side
 * parameters removed, as the C client does. The daemon would refuse `qemu+unix:///system` and
 * would itself dial TLS for a name with a host part.
 *
 * For a local socket it picks `virt<driver>d-sock` when that socket exists (modular daemons),
 * else `libvirt-sock` (monolithic libvirtd or virtproxyd), like the C client's "auto" mode.
 */
export function parseLibvirtUri(
  uri: string,
  options: { readOnly?: boolean; runDir?: string; exists?: (p: string) => boolean } = {},
): Endpoint {
  const m = /^([a-z][a-z0-9.-]*)(?:\+([a-z]+))?:\/\/([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i.exec(uri);
  if (!m) throw bad(uri, 'expected driver[+transport]://[host]/path, e.g. qemu:///system');
  const driver = (m[1] ?? '').toLowerCase();
  let transport = (m[2] ?? '').toLowerCase();
  const authority = m[3] ?? '';
  const path = m[4] ?? '';
  const query = new URLSearchParams(m[5] ?? '');
  const hostPort = authority.includes('@')
    ? authority.slice(authority.lastIndexOf('@') + 1)
    : authority;
  if (transport === '') transport = hostPort === '' ? 'unix' : 'tls';

  const kept = new URLSearchParams();
  for (const [k, v] of query) if (!CLIENT_PARAMS.has(k)) kept.append(k, v);
  const keptQuery = kept.toString();
  const name = query.get('name') ?? `${driver}://${path}${keptQuery ? `?${keptQuery}` : ''}`;

  switch (transport) {
    case 'unix': {
      if (hostPort !== '') throw bad(uri, 'a UNIX-socket URI has no host part');
      const exists = options.exists ?? existsSync;
      const runDir = options.runDir ?? DEFAULT_RUN_DIR;
      const suffix = options.readOnly ? '-sock-ro' : '-sock';
      const socketParam = query.get('socket');
      let sockPath: string;
      if (socketParam) sockPath = socketParam;
      else if (exists(`${runDir}/virt${driver}d${suffix}`))
        sockPath = `${runDir}/virt${driver}d${suffix}`;
      else sockPath = `${runDir}/libvirt${suffix}`;
      return { kind: 'unix', path: sockPath, name };
    }
    case 'tcp':
    case 'tls': {
      const hp = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort);
      if (!hp) throw bad(uri, `${transport} needs a host`);
      const host = (hp[1] ?? '').replace(/^\[|\]$/g, '');
      const port = hp[2] ? Number(hp[2]) : transport === 'tcp' ? TCP_PORT : TLS_PORT;
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        throw bad(uri, `port ${hp[2]} is invalid`);
      if (transport === 'tcp') return { kind: 'tcp', host, port, name };
      return { kind: 'tls', host, port, name, pkiPath: query.get('pkipath') };
    }
    default:
      throw bad(
        uri,
        `transport "${transport}" is not supported (use unix, tcp or tls; for ssh, tunnel the socket)`,
      );
  }
}
