import { Command, Option } from 'commander';
import { VM_HEADER, vmRow } from '../../coordinator/admin-format.ts';
import { request, resolveAdmin, withAdminOptions } from '../../coordinator/admin-client.ts';
import type { AdminOptions } from '../../coordinator/admin-client.ts';
import { formatTable, toJson, writeOut } from './output.ts';

/** `virt-ft vms`: every VM of the fleet with host, state, policy level and last failure. */
export function vmsCommand(): Command {
  return withAdminOptions(
    new Command('vms')
      .description('list every VM of the fleet: host, state, status, policy level, last failure')
      .addOption(new Option('--host <host>', 'only this host')),
  ).action(async (opts: AdminOptions & { host?: string }) => {
    const q = opts.host === undefined ? '' : `?host=${encodeURIComponent(opts.host)}`;
    const body = await request(resolveAdmin(opts), 'GET', `/v1/vms${q}`);
    const vms = (body['vms'] ?? []) as Record<string, unknown>[];
    await writeOut(
      opts.json ? `${toJson(body, 2)}\n` : `${formatTable(VM_HEADER, vms.map(vmRow))}\n`,
    );
  });
}
