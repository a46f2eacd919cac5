/**
 * The files in systemd/ against the code they describe: the example config loads with the real
 * loader, names every option and nothing else; the unit file keeps the promises the agent relies
 * on (exit 78 is final, the stop timeout is above the shutdown deadline, libvirt is ordered but
 * not required, the state directory is the config's default). scripts/check-systemd.sh runs
 * systemd-analyze on the same files.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { SHUTDOWN_DEADLINE_MS } from '../../../agent/commands/agent.ts';
import { ConfigError, loadConfig, stripJsonComments } from '../../../agent/config/load.ts';
import { AgentConfigSchema } from '../../../agent/config/schema.ts';
import { parsePolicyMetadata, POLICY_NS } from '../../../agent/policy/metadata.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const SYSTEMD = resolve(ROOT, 'systemd');
const EXAMPLE = resolve(SYSTEMD, 'agent.example.jsonc');
const UNIT = resolve(SYSTEMD, 'virt-ft-agent.service');
const TMPFILES = resolve(SYSTEMD, 'virt-ft.tmpfiles.conf');

// ---- A minimal walk over zod 4 schemas (through `.def`): which keys exist where.

interface Def {
  readonly type: string;
  readonly innerType?: unknown;
  readonly shape?: Readonly<Record<string, unknown>>;
  readonly valueType?: unknown;
  readonly element?: unknown;
}
const defOf = (s: unknown): Def => (s as { def: Def }).def;

/** The schema under optional/default/prefault/nullable/readonly wrappers. */
function unwrap(s: unknown): Def {
  let d = defOf(s);
  while (d.innerType !== undefined) d = defOf(d.innerType);
  return d;
}

/** Every object key path the schema accepts (`domains.*` for a record, `tokens[]` for arrays). */
function schemaPaths(s: unknown, prefix = ''): string[] {
  const d = unwrap(s);
  const out: string[] = [];
  if (d.type === 'object' && d.shape) {
    for (const [k, v] of Object.entries(d.shape)) {
      const p = prefix ? `${prefix}.${k}` : k;
      out.push(p, ...schemaPaths(v, p));
    }
  } else if (d.type === 'record') out.push(...schemaPaths(d.valueType, `${prefix}.*`));
  else if (d.type === 'array') out.push(...schemaPaths(d.element, `${prefix}[]`));
  return out;
}

/** Keys of `value` that the schema does not know, with their paths. */
function unknownKeys(s: unknown, value: unknown, path = ''): string[] {
  const d = unwrap(s);
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) {
    return d.type === 'array'
      ? value.flatMap((v, i) => unknownKeys(d.element, v, `${path}[${i}]`))
      : [];
  }
  const out: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const p = path ? `${path}.${k}` : k;
    if (d.type === 'record') out.push(...unknownKeys(d.valueType, v, p));
    else if (d.type === 'object' && d.shape && k in d.shape)
      out.push(...unknownKeys(d.shape[k], v, p));
    else out.push(p);
  }
  return out;
}

/** Key paths present in a parsed JSON value, generalised like {@link schemaPaths}. */
function valuePaths(s: unknown, value: unknown, prefix = ''): string[] {
  const d = unwrap(s);
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) {
    return d.type === 'array' ? value.flatMap((v) => valuePaths(d.element, v, `${prefix}[]`)) : [];
  }
  const out: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (d.type === 'record') out.push(...valuePaths(d.valueType, v, `${prefix}.*`));
    else if (d.type === 'object' && d.shape && k in d.shape) {
      const p = prefix ? `${prefix}.${k}` : k;
      out.push(p, ...valuePaths(d.shape[k], v, p));
    }
  }
  return out;
}

// ---- systemd unit files: [Section] → key → values, in order (continuation lines not used).

function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let cur: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      cur = new Map();
      sections.set(sec[1] ?? '', cur);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(cur && eq > 0, `unit line outside a section or without '=': ${line}`);
    const k = line.slice(0, eq);
    cur.set(k, [...(cur.get(k) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

/** A systemd time span such as `30s`, `2min`, `500ms` → milliseconds. */
function spanMs(v: string): number {
  const m = /^(\d+)\s*(ms|s|sec|min|m)?$/.exec(v.trim());
  assert.ok(m, `unsupported time span ${v}`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return unit === 'ms' ? n : unit === 'min' || unit === 'm' ? n * 60_000 : n * 1000;
}

describe('systemd/agent.example.jsonc', () => {
  const text = readFileSync(EXAMPLE, 'utf8');
  const raw: unknown = JSON.parse(stripJsonComments(text));

  it('loads with the real loader, with the values it shows', async () => {
    const c = await loadConfig(EXAMPLE);
    assert.equal(c.stateDir, '/var/lib/virt-ft');
    assert.equal(c.libvirt.uri, 'qemu:///system');
    assert.equal(c.policy.level, 'low');
    assert.equal(c.domains['db-primary']?.level, 'high');
    assert.equal(c.domains['ci-runner-01']?.level, 'off');
    // Shipped safe: the stream is off, and its tokens are placeholders (64 hex digits).
    assert.equal(c.stream.listen, null);
    assert.ok(c.stream.tokens.length > 0);
    for (const t of c.stream.tokens) assert.match(t.sha256, /^[0-9a-f]{64}$/);
    assert.equal(c.health.smartctlPath, '/usr/sbin/smartctl');
  });

  it('every key it sets is a key of the schema (also in sections the loader does not check strictly)', () => {
    assert.deepEqual(unknownKeys(AgentConfigSchema, raw), []);
  });

  it('names every option of the schema, set or in a comment', () => {
    const set = new Set(valuePaths(AgentConfigSchema, raw));
    const missing = schemaPaths(AgentConfigSchema).filter((p) => {
      // A "domains" entry takes the keys of "policy" (one schema), explained there once.
      if (set.has(p) || p.startsWith('domains.*.')) return false;
      // Not set: then its key must appear, quoted, in a comment line (`// "agentId": …`).
      const key = p.slice(p.lastIndexOf('.') + 1).replace(/\[\]$/, '');
      return !new RegExp(`^\\s*//.*"${key}"\\s*:`, 'm').test(text);
    });
    assert.deepEqual(missing, []);
  });

  it('leaves the preset-owned keys of the default policy to the level', async () => {
    // A value in "policy" would apply to every VM whatever its level (it overrides the preset).
    const c = await loadConfig(EXAMPLE);
    assert.equal(c.policy.snapshots?.enabled, undefined);
    assert.equal(c.policy.checkpoints?.enabled, undefined);
    assert.equal(c.policy.revertToKnownGood, undefined);
  });

  it('its virsh metadata example is a valid policy in the right namespace', () => {
    assert.ok(text.includes(`--uri ${POLICY_NS} --key vft`));
    const xml = /--set '([^']+)'/.exec(text)?.[1];
    assert.ok(xml, 'no `virsh metadata --set` example found');
    const r = parsePolicyMetadata(xml);
    assert.ok('policy' in r, 'error' in r ? r.error : '');
    assert.deepEqual(r.policy, {
      level: 'high',
      restart: { strategy: 'always', maxRestarts: 5 },
      snapshots: { intervalMs: 1_800_000, retain: 4 },
    });
  });
});

describe('systemd/virt-ft-agent.service', () => {
  const unit = parseUnit(readFileSync(UNIT, 'utf8'));
  const unitSec = unit.get('Unit') ?? new Map<string, string[]>();
  const svc = unit.get('Service') ?? new Map<string, string[]>();
  const one = (k: string): string => {
    const v = svc.get(k);
    assert.equal(v?.length, 1, `[Service] ${k}= must be set once, got ${JSON.stringify(v)}`);
    return v[0] ?? '';
  };

  it('runs the installed agent with the installed config', () => {
    assert.equal(one('Type'), 'exec');
    assert.equal(
      one('ExecStart'),
      '/usr/bin/node /opt/virt-ft/dist/agent/main.js agent --config /etc/virt-ft/agent.jsonc',
    );
  });

  it('restarts on failure, never after an invalid config (exit 78)', () => {
    assert.equal(one('Restart'), 'on-failure');
    assert.equal(one('RestartPreventExitStatus'), String(new ConfigError('x', []).exitCode));
    assert.ok(spanMs(one('RestartSec')) >= 1000);
    assert.ok(Number(unitSec.get('StartLimitBurst')?.[0]) >= 10);
    assert.ok(Number(unitSec.get('StartLimitIntervalSec')?.[0]) >= 300);
  });

  it("waits longer than the agent's own shutdown deadline before SIGKILL", () => {
    // The agent waits SHUTDOWN_DEADLINE_MS for its actions and exits by itself 5 s after that.
    assert.ok(spanMs(one('TimeoutStopSec')) > SHUTDOWN_DEADLINE_MS + 5_000);
    assert.equal(one('KillMode'), 'mixed');
  });

  it('is ordered after libvirt but does not require it', () => {
    const after = (unitSec.get('After') ?? []).join(' ').split(/\s+/);
    for (const u of [
      'libvirtd.socket',
      'virtqemud.socket',
      'libvirtd.service',
      'virtqemud.service',
    ])
      assert.ok(after.includes(u), `After= lacks ${u}`);
    for (const k of ['Requires', 'BindsTo', 'PartOf', 'Requisite', 'Upholds'])
      assert.equal(unitSec.get(k), undefined, `[Unit] ${k}= would tie the agent to libvirt`);
  });

  it("writes only the config's default state directory, created 0700, like the tmpfiles entry", () => {
    const stateDir = AgentConfigSchema.parse({}).stateDir;
    assert.equal(`/var/lib/${one('StateDirectory')}`, stateDir);
    assert.equal(one('StateDirectoryMode'), '0700');
    assert.equal(one('ProtectSystem'), 'strict');
    assert.equal(svc.get('ReadWritePaths'), undefined);
    const entries = readFileSync(TMPFILES, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'))
      .map((l) => l.trim().split(/\s+/));
    assert.deepEqual(entries, [['d', stateDir, '0700', 'root', 'root', '-', '-']]);
  });

  it('keeps smartctl working and V8 alive', () => {
    assert.deepEqual(one('CapabilityBoundingSet').split(/\s+/).sort(), [
      'CAP_SYS_ADMIN',
      'CAP_SYS_RAWIO',
    ]);
    assert.equal(one('AmbientCapabilities'), '');
    assert.equal(one('RestrictAddressFamilies'), 'AF_UNIX AF_INET AF_INET6');
    // MemoryDenyWriteExecute=yes aborts V8 at start (reliability.md §3.1).
    assert.notEqual(svc.get('MemoryDenyWriteExecute')?.at(-1), 'yes');
    assert.deepEqual(svc.get('DeviceAllow'), ['block-sd r', 'block-blkext r', 'char-nvme r']);
    assert.equal(one('DevicePolicy'), 'closed');
  });
});
