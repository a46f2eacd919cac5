import { randomUUID } from 'node:crypto';
import { Command, Option } from 'commander';
import { request, resolveAdmin, withAdminOptions } from '../../coordinator/admin-client.ts';
import type { AdminOptions } from '../../coordinator/admin-client.ts';
import { AgentError, ErrorCode } from '../../shared/errors.ts';
import { toJson, writeOut } from './output.ts';

interface SnapshotOptions extends AdminOptions {
  name?: string;
  description?: string;
  memory: boolean;
  key?: string;
  reason?: string;
}

/** Splits `HOST/VM` (the VM may be a name or a UUID). */
export function parseTarget(target: string): { host: string; vm: string } {
  const i = target.indexOf('/');
  if (i <= 0 || i === target.length - 1)
    throw new AgentError(
      ErrorCode.USAGE,
      `the target must be HOST/VM, got ${JSON.stringify(target)}`,
    );
  return { host: target.slice(0, i), vm: target.slice(i + 1) };
}

/** `virt-ft snapshot HOST/VM`: a libvirt snapshot on the right host, through the coordinator. */
export function snapshotCommand(): Command {
  return withAdminOptions(
    new Command('snapshot')
      .description('take a snapshot of a VM on its host, through the coordinator')
      .argument('<host/vm>', 'the host (as virt-ft fleet lists it) and the VM name or UUID')
      .addOption(new Option('--name <name>', 'snapshot name (default vft-<UTC time>)'))
      .addOption(new Option('--description <text>', 'snapshot description'))
      .addOption(new Option('--no-memory', 'disk only (no memory state)'))
      .addOption(
        new Option('--key <key>', 'idempotency key (default: a new UUID); reuse it to retry'),
      )
      .addOption(new Option('--reason <text>', "why, for the agent's audit log")),
  ).action(async (target: string, opts: SnapshotOptions) => {
    const { host, vm } = parseTarget(target);
    const key = opts.key ?? randomUUID();
    const params = {
      ...(opts.name === undefined ? {} : { name: opts.name }),
      ...(opts.description === undefined ? {} : { description: opts.description }),
      ...(opts.memory ? {} : { memory: false }),
    };
    const body = await request(resolveAdmin(opts), 'POST', '/v1/actions', {
      host,
      vm,
      action: 'snapshot.create',
      key,
      params,
      ...(opts.reason === undefined ? {} : { reason: opts.reason }),
    });
    if (opts.json) await writeOut(`${toJson(body, 2)}\n`);
    if (body['ok'] !== true) {
      const e = (body['error'] ?? {}) as { code?: string; message?: string };
      throw new AgentError(
        ErrorCode.ACTION_FAILED,
        `snapshot of ${host}/${vm} failed: ${e.code ?? '?'}: ${e.message ?? ''}`,
      );
    }
    if (opts.json) return;
    const r = (body['result'] ?? {}) as Record<string, unknown>;
    const name = typeof r['name'] === 'string' ? r['name'] : '?';
    const dup = body['duplicate'] === true ? ' (already done: this key ran before)' : '';
    await writeOut(
      `snapshot ${name} of ${host}/${vm} created in ${String(body['durationMs'])} ms${dup} (key ${key})\n`,
    );
  });
}
