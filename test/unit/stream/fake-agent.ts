/**
 * A fake agent for the stream server's tests: a status built from a few domains, listeners the
 * test fires by hand, and an executor that keeps idempotency keys the way the real one does
 * (the first result per key; the same key with another payload is a conflict; a repeat while
 * the first runs waits for it) and counts what it really ran.
 */
import type { ActionRequest, ActionResult } from '../../../agent/actions/types.ts';
import type { AgentListener } from '../../../agent/agent.ts';
import { resolvePolicy } from '../../../agent/policy/schema.ts';
import type { PolicyOverride } from '../../../agent/policy/schema.ts';
import type { DecisionRecord } from '../../../agent/state/store.ts';
import type { AgentStatus, DomainStatus } from '../../../agent/status.ts';
import type { StreamAgent } from '../../../agent/stream/port.ts';
import { AgentError, ErrorCode } from '../../../shared/errors.ts';
import { sampleAgentStatus, sampleDomainStatus } from '../../helpers/sample-status.ts';

export const UUID_A = '11111111-1111-4111-8111-111111111111';
export const UUID_B = '22222222-2222-4222-8222-222222222222';

/** A domain's status with defaults. */
export function domainStatus(uuid: string, name: string, state = 'Running'): DomainStatus {
  return sampleDomainStatus(uuid, name, {
    state,
    measures: { ...sampleDomainStatus(uuid, name).measures, runtimeMs: 1000 },
  });
}

export class FakeAgent implements StreamAgent {
  readonly agentId = 'fake-agent';
  readonly listeners = new Set<AgentListener>();
  readonly domains = new Map<string, DomainStatus>([
    [UUID_A, domainStatus(UUID_A, 'web-1')],
    [UUID_B, domainStatus(UUID_B, 'db-1')],
  ]);
  /** Every executor.run call. */
  readonly calls: ActionRequest[] = [];
  /** The requests that really ran (first of their key). */
  readonly runs: ActionRequest[] = [];
  readonly policies: { uuid: string; override: PolicyOverride | null }[] = [];
  /** While set, actions wait for it before they finish. */
  hold: Promise<void> | null = null;
  readonly #keys = new Map<string, { fp: string; result: Promise<ActionResult> }>();
  readonly executor = { run: (req: ActionRequest) => this.#run(req) };

  status(): AgentStatus {
    return sampleAgentStatus({
      agentId: this.agentId,
      host: 'fake-host',
      startedAt: new Date(0).toISOString(),
      libvirt: { uri: 'test:///default', connected: true },
      domains: [...this.domains.values()],
    });
  }

  addListener(l: AgentListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  async setPolicy(uuid: string, override: PolicyOverride | null): Promise<unknown> {
    await this.hold;
    this.policies.push({ uuid, override });
    if (!this.domains.has(uuid))
      throw new AgentError(
        ErrorCode.ACTION_INVALID,
        `Cannot set the policy: no domain with UUID ${uuid}`,
      );
    return resolvePolicy(override);
  }

  /** Fires a state change of `uuid` to `state`. */
  transition(uuid: string, state: string, name = this.domains.get(uuid)?.name ?? 'x'): void {
    const before = this.domains.get(uuid);
    this.domains.set(uuid, { ...(before ?? domainStatus(uuid, name)), state });
    for (const l of this.listeners)
      l.onTransition?.({
        uuid,
        name,
        from: before ? { state: before.state, reason: before.reason } : null,
        to: { state, reason: 'Unknown' },
        at: Date.now(),
        late: false,
        source: 'event',
      });
  }

  /** Fires a decision (with an outcome: the finished phase). */
  decision(d: Partial<DecisionRecord> = {}): void {
    const rec: DecisionRecord = {
      id: 'd-1',
      at: Date.now(),
      domain: { uuid: UUID_A, name: 'web-1' },
      failure: {
        kind: 'guest-crash',
        signal: 'lifecycle Crashed/Panicked',
        late: false,
        at: Date.now(),
      },
      shadow: false,
      action: 'restart',
      delayMs: 0,
      rule: 'restart',
      reasons: ['signal: crash'],
      ...d,
    };
    for (const l of this.listeners) l.onDecision?.(rec);
  }

  /** Fires a libvirt session change. */
  session(state: 'connected' | 'disconnected'): void {
    const item =
      state === 'connected'
        ? {
            event: 'session' as const,
            state,
            time: new Date(),
            attempt: 1,
            uri: 'test:///default',
            handshakeMs: 3,
            reconnect: true,
          }
        : {
            event: 'session' as const,
            state,
            time: new Date(),
            reason: 'eof',
            message: 'libvirtd went away',
          };
    for (const l of this.listeners) l.onSession?.(item);
  }

  async #run(req: ActionRequest): Promise<ActionResult> {
    this.calls.push(req);
    const fp = JSON.stringify([req.kind, req.domain.uuid.toLowerCase(), req.params ?? {}]);
    const seen = this.#keys.get(req.idempotencyKey);
    const base = {
      kind: req.kind,
      domainUuid: req.domain.uuid.toLowerCase(),
      idempotencyKey: req.idempotencyKey,
      startedAt: new Date().toISOString(),
      durationMs: 1,
    };
    if (seen) {
      if (seen.fp !== fp)
        return {
          ...base,
          ok: false,
          duplicate: false,
          error: { code: 'VFT_ERR_ACTION_CONFLICT', message: 'key reused with another payload' },
        };
      return { ...(await seen.result), duplicate: true };
    }
    this.runs.push(req);
    const result = (async (): Promise<ActionResult> => {
      await this.hold;
      return {
        ...base,
        ok: true,
        duplicate: false,
        result: { name: req.params?.name ?? 'vft-20260101T000000Z', n: this.runs.length },
      };
    })();
    this.#keys.set(req.idempotencyKey, { fp, result });
    return result;
  }
}
