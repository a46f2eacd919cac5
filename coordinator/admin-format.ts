/** Text renderings of the coordinator's answers for the admin CLI (one line per item). */

type Json = Record<string, unknown>;

const s = (v: unknown, d = '-'): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : d;

/** "3.2s ago", "5m ago", "never". */
export function ago(ms: unknown): string {
  if (typeof ms !== 'number') return 'never';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s ago`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m ago`;
  return `${(ms / 3_600_000).toFixed(1)}h ago`;
}

/** One row of `virt-ft fleet`. */
export function hostRow(h: Json): string[] {
  const vms = (h['vms'] ?? {}) as Record<string, number>;
  return [
    s(h['host']),
    h['reachable'] === true ? 'yes' : 'UNREACHABLE',
    s(h['connection']),
    ago(h['lastHeardAgoMs']),
    s(h['risk']),
    h['libvirtConnected'] === true ? 'up' : h['libvirtConnected'] === false ? 'DOWN' : '-',
    String(vms['total'] ?? 0),
    String(vms['running'] ?? 0),
    String(vms['failed'] ?? 0),
    s(h['seq']),
  ];
}

/** Columns of `virt-ft fleet`. */
export const HOST_HEADER = [
  'HOST',
  'REACHABLE',
  'CONNECTION',
  'LAST HEARD',
  'RISK',
  'LIBVIRT',
  'VMS',
  'RUNNING',
  'FAILED',
  'SEQ',
];

/** One row of `virt-ft vms`. */
export function vmRow(v: Json): string[] {
  const lf = v['lastFailure'] as Json | null;
  return [
    s(v['host']),
    s(v['name']),
    `${s(v['state'])}/${s(v['reason'])}`,
    s(v['status']),
    s(v['policyLevel']),
    lf ? `${s(lf['kind'])} ${s(lf['at'])}` : '-',
  ];
}

/** Columns of `virt-ft vms`. */
export const VM_HEADER = ['HOST', 'NAME', 'STATE', 'STATUS', 'POLICY', 'LAST FAILURE'];

/** One line of `virt-ft watch` for a message of the live tail, or null to print nothing. */
export function watchLine(m: Json): string | null {
  if (m['type'] === 'host') {
    const reach =
      m['reachable'] === true
        ? 'reachable'
        : `UNREACHABLE (last heard ${ago(m['lastHeardAgoMs'])})`;
    return `${new Date().toISOString()} ${s(m['host'])} host ${reach} [${s(m['connection'])}]`;
  }
  if (m['type'] === 'hello') {
    const hosts = (m['hosts'] ?? []) as Json[];
    const each = hosts.map(
      (h) => `${s(h['host'])} ${h['reachable'] === true ? 'reachable' : 'UNREACHABLE'}`,
    );
    return `watching ${hosts.length} host${hosts.length === 1 ? '' : 's'}: ${each.join(', ') || 'none'}`;
  }
  if (m['type'] === 'error') return `error ${s(m['code'])}: ${s(m['message'])}`;
  if (m['type'] !== 'event') return null;
  const e = (m['event'] ?? {}) as Json;
  const head = `${s(m['at'])} ${s(m['host'])} seq=${s(m['seq'])}`;
  const st = (x: unknown) =>
    x && typeof x === 'object' ? `${s((x as Json)['state'])}/${s((x as Json)['reason'])}` : 'none';
  switch (e['kind']) {
    case 'domain':
      return `${head} domain ${s(e['name'])}: ${st(e['from'])} -> ${st(e['to'])}${e['late'] === true ? ' (late)' : ''}`;
    case 'decision': {
      const dom = (e['domain'] ?? {}) as Json;
      const f = e['failure'] as Json | null;
      const o = e['outcome'] as Json | null;
      const why = f ? ` after ${s(f['kind'])} (${s(f['signal'])})` : '';
      const out = o ? `: ${o['ok'] === true ? 'ok' : 'FAILED'} ${s(o['message'], '')}` : '';
      return `${head} decision ${s(dom['name'])}: ${s(e['action'])} ${s(e['phase'])}${e['shadow'] === true ? ' (shadow)' : ''}${why}${out}`;
    }
    case 'health':
      return `${head} health risk ${s(e['risk'])}`;
    case 'session':
      return `${head} libvirt ${s(e['state'])}${e['message'] ? `: ${s(e['message'])}` : ''}`;
    default:
      return `${head} ${s(e['kind'])}`;
  }
}
