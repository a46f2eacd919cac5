// Shared set-up of the action integration tests: a client, an executor in a tmpdir, guests
// with their own qcow2 disk (removed after the suite), and a logger that keeps its lines.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActionExecutor } from '../../../agent/actions/index.ts';
import type {
  ActionExecutorOptions,
  ActionLogger,
  ActionRequest,
  ActionResult,
} from '../../../agent/actions/index.ts';
import { LibvirtClient } from '../../../agent/libvirt/index.ts';
import type { Domain } from '../../../agent/libvirt/index.ts';
import { defineTestGuest, requireTestbed } from '../../helpers/testbed.ts';
import type { GuestOptions } from '../../helpers/testbed.ts';

export interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly obj: Record<string, unknown>;
  readonly msg: string;
}

/** A pino-like logger that records every line (child bindings merged in). */
export function memoryLogger(
  lines: LogLine[] = [],
  bindings: Record<string, unknown> = {},
): ActionLogger & { lines: LogLine[] } {
  const at = (level: LogLine['level']) => (obj: Record<string, unknown>, msg: string) => {
    lines.push({ level, obj: { ...bindings, ...obj }, msg });
  };
  return {
    lines,
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (b) => memoryLogger(lines, { ...bindings, ...b }),
  };
}

export class Bed {
  client!: LibvirtClient;
  stateDir!: string;
  readonly log = memoryLogger();
  readonly #cleanups: (() => Promise<void>)[] = [];
  #seq = 0;

  async open(): Promise<void> {
    this.client = await LibvirtClient.connect({ uri: requireTestbed().connect });
    this.stateDir = await mkdtemp(join(tmpdir(), 'vft-actions-'));
  }

  async close(): Promise<void> {
    for (const c of this.#cleanups.reverse()) await c().catch(() => undefined);
    await this.client.close();
    await rm(this.stateDir, { recursive: true, force: true });
  }

  executor(o: Partial<ActionExecutorOptions> = {}): ActionExecutor {
    const ex = new ActionExecutor({
      client: () => this.client,
      stateDir: this.stateDir,
      log: this.log,
      actionTimeoutMs: 120_000,
      pollIntervalMs: 100,
      ...o,
    });
    this.#cleanups.push(async () => {
      await ex.close(1_000);
    });
    return ex;
  }

  /** Defines a persistent guest with its own 64 MiB qcow2 disk; removed after the suite. */
  async guest(suffix: string, opts: Partial<GuestOptions> = {}): Promise<Domain> {
    const g = await defineTestGuest(this.client, {
      name: `vft-test-act-${suffix}-${randomUUID().slice(0, 8)}`,
      ...opts,
    });
    this.#cleanups.push(() => g.remove());
    return g.dom;
  }

  /** A request with a fresh key. */
  req(kind: ActionRequest['kind'], dom: Domain, extra: Partial<ActionRequest> = {}): ActionRequest {
    return {
      kind,
      domain: { uuid: dom.uuid, name: dom.name },
      idempotencyKey: `test:${kind}:${dom.uuid}:${++this.#seq}:${randomUUID()}`,
      origin: 'admin',
      reason: `integration test: ${kind}`,
      ...extra,
    };
  }

  async state(dom: Domain): Promise<string> {
    const s = await this.client.domainGetState(dom);
    return `${s.stateName}/${s.reasonName}`;
  }
}

/** The result's payload, after asserting it is ok (with its error in the message otherwise). */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- a typed view for the caller
export function okResult<T>(r: ActionResult): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.result as T;
}
