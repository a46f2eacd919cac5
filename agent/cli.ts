import { Command, CommanderError } from 'commander';
import { describeError } from '../shared/errors.ts';
import { VERSION } from './version.ts';
import { agentCommand } from './commands/agent.ts';
import { domainsCommand } from './commands/domains.ts';
import { eventsCommand } from './commands/events.ts';
import { fleetCommand } from './commands/fleet.ts';
import { snapshotCommand } from './commands/snapshot.ts';
import { vmsCommand } from './commands/vms.ts';
import { watchCommand } from './commands/watch.ts';
import { coordinatorCommand } from '../coordinator/command.ts';
import { statusCommand } from './commands/status.ts';
import { buildHealthCommand } from './health/command.ts';
import { LibvirtClient } from './libvirt/index.ts';

/** Exit codes: 0 ok, 1 failure, 2 usage, 78 invalid configuration (EX_CONFIG). */
export const ExitCode = { OK: 0, FAILURE: 1, USAGE: 2, CONFIG: 78 } as const;

export function buildCli(): Command {
  const program = new Command('virt-ft')
    .description('virt-ft: fault tolerance for KVM hosts (libvirt + hardware health)')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.addCommand(agentCommand());
  program.addCommand(domainsCommand());
  program.addCommand(eventsCommand());
  program.addCommand(buildHealthCommand({ listDomainXml: listLocalDomainXml }));
  program.addCommand(statusCommand());
  program.addCommand(coordinatorCommand());
  program.addCommand(fleetCommand());
  program.addCommand(vmsCommand());
  program.addCommand(snapshotCommand());
  program.addCommand(watchCommand());
  for (const c of program.commands) c.exitOverride();
  return program;
}

/** The local domains with their XML, for the health command's VM map (5 s deadline). */
async function listLocalDomainXml(): Promise<{ name: string; uuid: string; xml: string }[]> {
  const client = await LibvirtClient.connect({
    uri: 'qemu:///system',
    connectTimeoutMs: 5_000,
    callTimeoutMs: 5_000,
  });
  try {
    const doms = await client.listAllDomains();
    return await Promise.all(
      doms.map(async (d) => ({
        name: d.name,
        uuid: d.uuid,
        xml: await client.domainGetXmlDesc(d),
      })),
    );
  } finally {
    await client.close();
  }
}

/** Runs the CLI and returns the process exit code. Errors print one line to stderr. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildCli();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version')
        return ExitCode.OK;
      if (err.code === 'commander.help') return ExitCode.OK;
      return ExitCode.USAGE;
    }
    const code = (err as { exitCode?: unknown }).exitCode;
    // A config error lists every problem on its own line; everything else is one line.
    const problems = (err as { problems?: unknown }).problems;
    const text = Array.isArray(problems) && err instanceof Error ? err.message : describeError(err);
    process.stderr.write(`virt-ft: ${text}\n`);
    return typeof code === 'number' ? code : ExitCode.FAILURE;
  }
}
