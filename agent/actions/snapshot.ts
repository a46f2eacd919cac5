/**
 * Snapshot operations: internal qcow2 snapshots (memory and disks in the image), the only kind
 * libvirt 9.0 can revert to. A revert first deletes virt-ft's checkpoints, because QEMU refuses
 * to load a snapshot while the disk has dirty bitmaps and the domain is left shut off (measured
 * on libvirt 9.0 / QEMU 7.2; docs/adr/0010-actions-executor.md).
 */
import { performance } from 'node:perf_hooks';
import { ErrorCode } from '../../shared/errors.ts';
import { CreateFlags, DomainState, SnapshotRevertFlags } from '../libvirt/index.ts';
import { isActive, summary } from './context.ts';
import type { OpContext } from './context.ts';
import { deleteCheckpoint } from './checkpoint.ts';
import { ActionError } from './errors.ts';
import { allocationGrowth, diskAllocations, PauseWatcher } from './measure.ts';
import { isOwnName } from './names.ts';
import { byAge, selectForPruning } from './retention.ts';
import { parseCheckpointXml, parseSnapshotXml, snapshotXml } from './xml.ts';
import type {
  CreateResult,
  DeleteResult,
  RevertResult,
  SnapshotInfo,
  SnapshotListResult,
} from './types.ts';

export async function createSnapshot(ctx: OpContext): Promise<CreateResult> {
  const name = plannedName(ctx);
  const memory = ctx.req.params.memory ?? true;
  const before = await ctx.state();
  const active = isActive(before.code);
  if (active && !memory) {
    throw new ActionError(
      ErrorCode.ACTION_UNSUPPORTED,
      `Cannot snapshot ${ctx.dom.name} without memory while it is ${before.state}: libvirt 9 takes internal snapshots of an active VM only with its memory, and it cannot revert external (disk-only) ones before 9.7`,
    );
  }
  ctx.step(`checking that snapshot ${name} does not exist`);
  if (await ctx.client.snapshotLookupByName(ctx.dom, name, ctx.call())) {
    throw new ActionError(
      ErrorCode.ACTION_STATE,
      `Cannot create snapshot ${name} of ${ctx.dom.name}: it exists already`,
    );
  }
  const allocBefore = await diskAllocations(ctx);
  const watcher = active ? await PauseWatcher.open(ctx) : null;
  const xml = snapshotXml({ name, description: ctx.req.params.description, memory: active });
  const startWall = Date.now();
  const t0 = performance.now();
  let durationMs: number;
  let pausedMs = 0;
  try {
    ctx.step(`creating snapshot ${name}`);
    await ctx.client.snapshotCreateXml(ctx.dom, xml, 0, ctx.call());
    durationMs = Math.round(performance.now() - t0);
    if (watcher) pausedMs = await watcher.pausedMs(startWall, Date.now());
  } finally {
    await watcher?.close();
  }
  // The snapshot exists now: what follows is best effort and never fails the action.
  const sizeBytes = allocationGrowth(allocBefore, await diskAllocations(ctx).catch(() => null));
  const measure = {
    name,
    kind: 'snapshot' as const,
    takenAt: new Date(startWall).toISOString(),
    durationMs,
    pausedMs,
    sizeBytes,
  };
  return { name, measure, ...(await pruneAfterCreate(ctx, name)) };
}

export async function listSnapshots(ctx: OpContext): Promise<SnapshotListResult> {
  ctx.step('listing snapshots');
  const snaps = await ctx.client.listAllSnapshots(ctx.dom, 0, ctx.call());
  const current = (await ctx.client.snapshotCurrent(ctx.dom, ctx.call()))?.name ?? null;
  const out: SnapshotInfo[] = [];
  for (const s of snaps) {
    const p = parseSnapshotXml(await ctx.client.snapshotGetXmlDesc(s, 0, ctx.call()));
    out.push({
      name: s.name,
      own: isOwnName(s.name),
      creationTime: new Date(p.creationTime * 1000).toISOString(),
      state: p.state,
      memory: p.memory,
      description: p.description,
      parent: p.parent,
      current: s.name === current,
    });
  }
  return { snapshots: out.sort((a, b) => byAge(aged(a), aged(b))) };
}

export async function revertSnapshot(ctx: OpContext): Promise<RevertResult> {
  const name = ctx.req.params.name ?? '';
  ctx.step(`looking up snapshot ${name}`);
  const snap = await ctx.client.snapshotLookupByName(ctx.dom, name, ctx.call());
  if (!snap)
    throw new ActionError(
      ErrorCode.ACTION_NOT_FOUND,
      `Cannot revert ${ctx.dom.name} to snapshot ${name}: no such snapshot`,
    );
  ctx.step('listing checkpoints');
  const ckpts = await ctx.client.listAllCheckpoints(ctx.dom, 0, ctx.call());
  const foreign = ckpts.filter((c) => !isOwnName(c.name)).map((c) => c.name);
  if (foreign.length > 0) {
    throw new ActionError(
      ErrorCode.ACTION_UNSUPPORTED,
      `Cannot revert ${ctx.dom.name} to ${name}: it has checkpoints virt-ft does not own (${foreign.join(', ')}); QEMU refuses to load a snapshot while their dirty bitmaps exist, and they are not virt-ft's to delete`,
    );
  }
  const removed: string[] = [];
  if (ckpts.length > 0) {
    if (!isActive((await ctx.state()).code)) {
      // libvirt 9 deletes checkpoints only of a running domain: start it paused for that.
      ctx.step('starting the domain paused to delete its checkpoints');
      await ctx.client.domainCreate(ctx.dom, CreateFlags.START_PAUSED, ctx.call());
    }
    const dated: { name: string; creationTime: number }[] = [];
    for (const c of ckpts)
      dated.push({
        name: c.name,
        creationTime: parseCheckpointXml(await ctx.client.checkpointGetXmlDesc(c, 0, ctx.call()))
          .creationTime,
      });
    for (const c of dated.sort(byAge).reverse()) {
      ctx.step(`deleting checkpoint ${c.name} before the revert`);
      const ck = await ctx.client.checkpointLookupByName(ctx.dom, c.name, ctx.call());
      if (ck) await deleteCheckpoint(ctx, ck);
      removed.push(c.name);
    }
  }
  ctx.step(`reverting to snapshot ${name}`);
  await ctx.client.revertToSnapshot(snap, SnapshotRevertFlags.RUNNING, ctx.call());
  ctx.step('waiting for the domain to run');
  const r = await ctx.waitForState((s) => s.code === DomainState.RUNNING, ctx.remainingMs());
  if (!r.reached)
    throw new ActionError(
      ErrorCode.ACTION_FAILED,
      `${ctx.dom.name} was reverted to ${name} but is ${r.state.state} (${r.state.reason}), not running`,
    );
  return { name, removedCheckpoints: removed, after: summary(r.state) };
}

export async function deleteSnapshots(ctx: OpContext): Promise<DeleteResult> {
  const deleted: string[] = [];
  const { name, retain } = ctx.req.params;
  if (name !== undefined) {
    ctx.step(`looking up snapshot ${name}`);
    const snap = await ctx.client.snapshotLookupByName(ctx.dom, name, ctx.call());
    if (!snap)
      throw new ActionError(
        ErrorCode.ACTION_NOT_FOUND,
        `Cannot delete snapshot ${name} of ${ctx.dom.name}: no such snapshot`,
      );
    ctx.step(`deleting snapshot ${name}`);
    await ctx.client.snapshotDelete(snap, 0, ctx.call());
    deleted.push(name);
  }
  if (retain !== undefined) deleted.push(...(await prune(ctx, retain, null)));
  return { deleted };
}

/** Deletes virt-ft's own snapshots beyond `retain`, oldest first; returns the names deleted. */
async function prune(ctx: OpContext, retain: number, keep: string | null): Promise<string[]> {
  ctx.step('listing snapshots for retention');
  const items: { name: string; creationTime: number }[] = [];
  for (const s of await ctx.client.listAllSnapshots(ctx.dom, 0, ctx.call())) {
    if (isOwnName(s.name))
      items.push({
        name: s.name,
        creationTime: parseSnapshotXml(await ctx.client.snapshotGetXmlDesc(s, 0, ctx.call()))
          .creationTime,
      });
  }
  const deleted: string[] = [];
  for (const n of selectForPruning(items, retain, new Set(ctx.req.params.protect ?? []), keep)) {
    ctx.step(`deleting snapshot ${n} (retention)`);
    const snap = await ctx.client.snapshotLookupByName(ctx.dom, n, ctx.call());
    if (snap) await ctx.client.snapshotDelete(snap, 0, ctx.call());
    deleted.push(n);
  }
  return deleted;
}

async function pruneAfterCreate(
  ctx: OpContext,
  name: string,
): Promise<{ pruned: string[]; pruneError?: string }> {
  const retain = ctx.req.params.retain;
  if (retain === undefined) return { pruned: [] };
  try {
    return { pruned: await prune(ctx, retain, name) };
  } catch (err) {
    return { pruned: [], pruneError: (err as Error).message };
  }
}

function plannedName(ctx: OpContext): string {
  if (ctx.plannedName === null) throw new Error('create without a planned name');
  return ctx.plannedName;
}

function aged(s: SnapshotInfo): { name: string; creationTime: number } {
  return { name: s.name, creationTime: Date.parse(s.creationTime) / 1000 };
}
