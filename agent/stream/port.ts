/**
 * What the stream server needs from the agent: a small interface, so tests drive the server
 * with a fake agent. `Agent` (agent/agent.ts) satisfies it as it is (a unit test checks that
 * at compile time).
 */
import type { ActionRequest, ActionResult } from '../actions/types.ts';
import type { AgentListener } from '../agent.ts';
import type { PolicyOverride } from '../policy/schema.ts';
import type { AgentStatus } from '../status.ts';

/** The agent, as the stream server sees it. */
export interface StreamAgent {
  readonly agentId: string;
  /** The full status (the body of every `snapshot`; stats deltas are computed from it). */
  status(): AgentStatus;
  /** Registers for changes; returns the function that removes the listener. */
  addListener(listener: AgentListener): () => void;
  /** The action executor: runs once per idempotency key, never throws. */
  readonly executor: { run(req: ActionRequest): Promise<ActionResult> };
  /** Writes a VM's policy into its libvirt metadata; null removes it. Returns the effective policy. */
  setPolicy(uuid: string, override: PolicyOverride | null): Promise<unknown>;
}
