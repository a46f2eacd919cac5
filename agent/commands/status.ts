import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { AgentError, ErrorCode } from '../../shared/errors.ts';
import { readJsonFile } from '../state/atomic-file.ts';
import type { AgentStatus } from '../status.ts';
import { formatTable, toJson, writeOut } from './output.ts';

const pct = (v: number | null): string => (v === null ? '-' : `${(v * 100).toFixed(3)}%`);
const secs = (ms: number | null): string => (ms === null ? '-' : `${(ms / 1000).toFixed(1)}s`);

/** Renders the status as text: host line, one row per VM, the latest decisions. */
export function renderStatus(s: AgentStatus, ageMs: number): string {
  const lines: string[] = [];
  const stale =
    ageMs > 30_000 ? `  (status is ${Math.round(ageMs / 1000)} s old: is the agent running?)` : '';
  lines.push(
    `agent ${s.agentId} on ${s.host}, libvirt ${s.libvirt.uri} ${s.libvirt.connected ? 'connected' : 'DISCONNECTED'}` +
      `${s.shadow ? ', SHADOW mode' : ''}${s.startupGrace ? ', start-up grace' : ''}${stale}`,
  );
  lines.push(
    `host risk ${s.hostMeasures.risk}; disk failure probability P=${s.hostMeasures.diskFailureProbability ?? '-'}; ` +
      `memory error rate E=${s.hostMeasures.memoryErrorRate ?? '-'} CE/24h (worst DIMM)` +
      (s.incident.active
        ? `; HOST INCIDENT since ${s.incident.since ?? '?'} (${s.incident.failures} failures)`
        : ''),
  );
  lines.push('');
  lines.push(
    formatTable(
      [
        'NAME',
        'STATE',
        'STATUS',
        'LEVEL',
        'FAILURES',
        'RESTARTS',
        'MTTR',
        'AVAILABILITY',
        'R',
        'LAST FAILURE',
      ],
      s.domains.map((d) => [
        d.name,
        d.state === 'unknown' ? 'unknown' : `${d.state}/${d.reason}`,
        d.status,
        d.policy.level,
        String(d.measures.failures),
        String(d.measures.restarts + d.measures.reverts),
        secs(d.measures.mttrMs),
        pct(d.measures.availability),
        d.measures.downtimeRatio === null ? '-' : d.measures.downtimeRatio.toFixed(4),
        d.measures.lastFailure
          ? `${d.measures.lastFailure.kind} ${d.measures.lastFailure.at}`
          : '-',
      ]),
    ),
  );
  const recent = s.decisions.slice(-10);
  if (recent.length) {
    lines.push('', 'recent decisions:');
    for (const d of recent) {
      const outcome = d.outcome ? ` → ${d.outcome.ok ? 'ok' : 'FAILED'}: ${d.outcome.message}` : '';
      lines.push(
        `  ${new Date(d.at).toISOString()} ${d.domain.name}: ${d.action}${d.shadow ? ' (shadow)' : ''} [${d.rule}] ${d.reasons.join('; ')}${outcome}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

export function statusCommand(): Command {
  return new Command('status')
    .description(
      "show the agent's view: each VM's state, policy and measures, host risk, recent decisions",
    )
    .addOption(
      new Option('--state-dir <dir>', "the agent's state directory").default('/var/lib/virt-ft'),
    )
    .addOption(new Option('--json', 'print the whole status as one JSON object'))
    .action(async (opts: { stateDir: string; json?: boolean }) => {
      const file = join(opts.stateDir, 'status.json');
      const value = (await readJsonFile(file, null)) as AgentStatus | null;
      if (value === null) {
        throw new AgentError(
          ErrorCode.USAGE,
          `no status in ${file}: the agent has not run with this state directory (virt-ft agent --config FILE)`,
        );
      }
      const ageMs = Date.now() - (await stat(file)).mtimeMs;
      await writeOut(opts.json ? `${toJson(value, 2)}\n` : renderStatus(value, ageMs));
    });
}
