import type { ActionKind, ActionRequest, ActionResult } from '../actions/types.ts';

/** What the runtime needs from the action executor (agent/actions/executor.ts). */
export interface ExecutorPort {
  run(req: ActionRequest): Promise<ActionResult>;
  /** The action running on a VM now, if any: its lifecycle events are ours, not failures. */
  activeAction(uuid: string): ActionKind | null;
}
