import { Command, Option } from 'commander';
import { watchLine } from '../../coordinator/admin-format.ts';
import { openWatch, resolveAdmin, withAdminOptions } from '../../coordinator/admin-client.ts';
import type { AdminOptions } from '../../coordinator/admin-client.ts';
import { AgentError, ErrorCode } from '../../shared/errors.ts';
import { writeOut } from './output.ts';

interface WatchOptions extends AdminOptions {
  host?: string;
  vm?: string;
  kind?: string;
  after?: string;
}

/** `virt-ft watch`: the fleet's events as they happen (and hosts going unreachable and back). */
export function watchCommand(): Command {
  return withAdminOptions(
    new Command('watch')
      .description("tail the fleet's events live, through the coordinator (Ctrl-C to stop)")
      .addOption(new Option('--host <host>', 'only this host'))
      .addOption(new Option('--vm <vm>', 'only this VM (name or UUID)'))
      .addOption(
        new Option('--kind <kind>', 'only this kind').choices([
          'domain',
          'decision',
          'health',
          'session',
        ]),
      )
      .addOption(new Option('--after <id>', 'first replay the stored events after this event id')),
  ).action(async (opts: WatchOptions) => {
    const query: Record<string, string> = {};
    for (const k of ['host', 'vm', 'kind', 'after'] as const) {
      const v = opts[k];
      if (v !== undefined) query[k] = v;
    }
    let chain = Promise.resolve();
    const ws = await openWatch(resolveAdmin(opts), query, (text) => {
      chain = chain.then(async () => {
        if (opts.json) {
          await writeOut(`${text}\n`);
          return;
        }
        const line = watchLine(JSON.parse(text) as Record<string, unknown>);
        if (line !== null) await writeOut(`${line}\n`);
      });
    });
    let stopping = false;
    const stop = () => {
      stopping = true;
      ws.close(1000, 'bye');
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const { code, reason } = await new Promise<{ code: number; reason: string }>((resolve) => {
      ws.once('close', (c, r) => {
        resolve({ code: c, reason: r.toString('utf8') });
      });
    });
    await chain;
    if (!stopping)
      throw new AgentError(
        ErrorCode.COORD_CLIENT,
        `the coordinator closed the live tail (${code} ${reason})`.trim(),
      );
  });
}
