/** Which operation runs each action kind. */
import { createCheckpoint, deleteCheckpoints, listCheckpoints } from './checkpoint.ts';
import type { OpContext } from './context.ts';
import {
  destroyDomain,
  managedSaveDomain,
  restartDomain,
  resumeDomain,
  shutdownDomain,
  startDomain,
  suspendDomain,
} from './lifecycle.ts';
import { createSnapshot, deleteSnapshots, listSnapshots, revertSnapshot } from './snapshot.ts';
import type { ActionKind } from './types.ts';

/** An operation: does one action on `ctx.dom`, returns its kind-specific result, throws on failure. */
export type Operation = (ctx: OpContext) => Promise<unknown>;

export const OPERATIONS: Readonly<Record<ActionKind, Operation>> = {
  'domain.start': startDomain,
  'domain.shutdown': shutdownDomain,
  'domain.destroy': destroyDomain,
  'domain.restart': restartDomain,
  'domain.suspend': suspendDomain,
  'domain.resume': resumeDomain,
  'domain.managed-save': managedSaveDomain,
  'snapshot.create': createSnapshot,
  'snapshot.revert': revertSnapshot,
  'snapshot.delete': deleteSnapshots,
  'snapshot.list': listSnapshots,
  'checkpoint.create': createCheckpoint,
  'checkpoint.delete': deleteCheckpoints,
  'checkpoint.list': listCheckpoints,
};

/** Kinds that make a snapshot or checkpoint and so decide its name before the first call. */
export function createsNamed(kind: ActionKind): boolean {
  return kind === 'snapshot.create' || kind === 'checkpoint.create';
}
