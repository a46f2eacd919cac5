import { Command, Option } from 'commander';
import type { Domain, LibvirtClient } from '../libvirt/index.ts';
import { stateName, stateReasonName } from '../libvirt/index.ts';
import { connectOption, openClient, timeoutOption } from './connect-option.ts';
import { formatTable, toJson, writeOut } from './output.ts';

/** One row of `virt-ft domains`. */
export interface DomainRow {
  readonly name: string;
  readonly uuid: string;
  /** −1 while inactive. */
  readonly id: number;
  readonly state: string;
  readonly reason: string;
  readonly vcpus: number;
  readonly memoryKiB: number;
  readonly maxMemoryKiB: number;
}

/**
 * Lists every domain with its state and reason, vCPUs and memory. Per-domain calls are
 * issued together and pipelined by the client (bounded in flight), so 1,000 domains cost
 * one round of pipelined calls, not 1,000 round trips.
 */
export async function listDomainRows(
  client: LibvirtClient,
  timeoutMs: number,
): Promise<DomainRow[]> {
  const opts = { timeoutMs };
  const domains = await client.listAllDomains(0, opts);
  const rows = await Promise.all(
    domains.map(async (d: Domain): Promise<DomainRow | null> => {
      try {
        const [st, info] = await Promise.all([
          client.domainGetState(d, opts),
          client.domainGetInfo(d, opts),
        ]);
        return {
          name: d.name,
          uuid: d.uuid,
          id: d.id,
          state: stateName(st.state),
          reason: stateReasonName(st.state, st.reason),
          vcpus: info.nrVirtCpu,
          memoryKiB: Number(info.memoryKiB),
          maxMemoryKiB: Number(info.maxMemKiB),
        };
      } catch (err) {
        // A domain undefined between the list and the lookups is simply gone.
        if ((err as { virCode?: number }).virCode === 42) return null;
        throw err;
      }
    }),
  );
  return rows
    .filter((r): r is DomainRow => r !== null)
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function domainsCommand(): Command {
  return new Command('domains')
    .description('list every libvirt domain: name, UUID, state and reason, vCPUs, memory')
    .addOption(connectOption())
    .addOption(timeoutOption())
    .addOption(new Option('--json', 'print one JSON array'))
    .action(async (opts: { connect: string; timeout: number; json?: boolean }) => {
      const client = await openClient(opts.connect, { callTimeoutMs: opts.timeout });
      try {
        const rows = await listDomainRows(client, opts.timeout);
        if (opts.json) {
          await writeOut(`${toJson(rows)}\n`);
          return;
        }
        const table = formatTable(
          ['NAME', 'UUID', 'STATE', 'REASON', 'VCPUS', 'MEMORY'],
          rows.map((r) => [
            r.name,
            r.uuid,
            r.state,
            r.reason,
            String(r.vcpus),
            `${Math.round(r.memoryKiB / 1024)} MiB`,
          ]),
        );
        await writeOut(`${table}\n`);
      } finally {
        await client.close();
      }
    });
}
