import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { describeError } from '../shared/errors.ts';
import { domainsCommand } from './commands/domains.ts';
import { eventsCommand } from './commands/events.ts';

/** Exit codes: 0 ok, 1 failure, 2 usage, 78 invalid configuration (EX_CONFIG). */
export const ExitCode = { OK: 0, FAILURE: 1, USAGE: 2, CONFIG: 78 } as const;

export function buildCli(): Command {
  const program = new Command('virt-ft')
    .description('virt-ft: fault tolerance for KVM hosts (libvirt + hardware health)')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.addCommand(domainsCommand());
  program.addCommand(eventsCommand());
  for (const c of program.commands) c.exitOverride();
  return program;
}

/** The package version, read from package.json (two levels above dist/agent/cli.js). */
const VERSION = ((): string => {
  try {
    const pkg: unknown = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    );
    const v = (pkg as { version?: unknown }).version;
    return typeof v === 'string' ? v : 'unknown';
  } catch {
    return 'unknown';
  }
})();

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
    process.stderr.write(`virt-ft: ${describeError(err)}\n`);
    return typeof code === 'number' ? code : ExitCode.FAILURE;
  }
}
