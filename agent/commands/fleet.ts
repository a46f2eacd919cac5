import { Command } from 'commander';
import { HOST_HEADER, hostRow } from '../../coordinator/admin-format.ts';
import { request, resolveAdmin, withAdminOptions } from '../../coordinator/admin-client.ts';
import type { AdminOptions } from '../../coordinator/admin-client.ts';
import { formatTable, toJson, writeOut } from './output.ts';

/** `virt-ft fleet`: every host with its reachability, health and VM counts (from the coordinator). */
export function fleetCommand(): Command {
  return withAdminOptions(
    new Command('fleet').description(
      'list the hosts the coordinator follows: reachability, last heard, risk, VM counts',
    ),
  ).action(async (opts: AdminOptions) => {
    const body = await request(resolveAdmin(opts), 'GET', '/v1/hosts');
    const hosts = (body['hosts'] ?? []) as Record<string, unknown>[];
    await writeOut(
      opts.json ? `${toJson(body, 2)}\n` : `${formatTable(HOST_HEADER, hosts.map(hostRow))}\n`,
    );
  });
}
