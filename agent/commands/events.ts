import { Command, Option } from 'commander';
import { ALL_EVENT_NAMES } from '../libvirt/index.ts';
import type { DomainEventName } from '../libvirt/index.ts';
import { LibvirtSession } from '../supervisor/libvirt-session.ts';
import type { SessionItem } from '../supervisor/libvirt-session.ts';
import { connectOption } from './connect-option.ts';
import { toJson, writeOut } from './output.ts';

/** The JSON line of one item: time, domain name and UUID, event, type, detail, all by name. */
export function eventLine(item: SessionItem): Record<string, unknown> {
  switch (item.event) {
    case 'gap':
      return { time: item.time.toISOString(), event: 'gap', dropped: item.dropped };
    case 'session': {
      const { event, time, ...rest } = item;
      return { time: time.toISOString(), event, ...rest };
    }
    default:
      return {
        time: item.time.toISOString(),
        domain: item.domain.name,
        uuid: item.domain.uuid,
        event: item.event,
        type: item.type,
        detail: item.detail,
      };
  }
}

/** The human form: `TIME  DOMAIN  EVENT  TYPE DETAIL`. */
export function eventText(item: SessionItem): string {
  const t = item.time.toISOString();
  switch (item.event) {
    case 'gap':
      return `${t}  -  gap  ${item.dropped} events dropped (consumer too slow)`;
    case 'session':
      if (item.state === 'connected')
        return `${t}  -  session  connected to ${item.uri}${item.reconnect ? ' (reconnected: events during the gap are lost)' : ''}`;
      if (item.state === 'disconnected')
        return `${t}  -  session  disconnected (${item.reason}): ${item.message}`;
      return `${t}  -  session  reconnecting in ${item.delayMs} ms (attempt ${item.attempt}): ${item.message}`;
    default:
      return `${t}  ${item.domain.name}  ${item.event}  ${[item.type, item.detail].filter((x) => x !== null && x !== '').join(' ')}`;
  }
}

function parseEventNames(v: string): DomainEventName[] {
  const names = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) {
    if (!(ALL_EVENT_NAMES as string[]).includes(n)) {
      throw new Error(`unknown event "${n}"; known: ${ALL_EVENT_NAMES.join(', ')}`);
    }
  }
  return names as DomainEventName[];
}

export function eventsCommand(): Command {
  return new Command('events')
    .description('print one line per libvirt domain event as it happens (Ctrl-C to stop)')
    .addOption(connectOption())
    .addOption(new Option('--json', 'one JSON object per line'))
    .addOption(
      new Option(
        '--event <names>',
        'comma-separated event names (default: all the agent watches)',
      ).argParser(parseEventNames),
    )
    .action(async (opts: { connect: string; json?: boolean; event?: DomainEventName[] }) => {
      const session = new LibvirtSession({
        open: { uri: opts.connect },
        ...(opts.event ? { events: opts.event } : {}),
      });
      await session.start();
      const stop = (): void => {
        void session.close();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      process.stdout.on('error', stop); // e.g. EPIPE when piped into `head`
      for await (const item of session) {
        await writeOut(`${opts.json ? toJson(eventLine(item)) : eventText(item)}\n`);
      }
    });
}
