/**
 * Checkpoint operations: libvirt checkpoints (a persistent dirty bitmap per qcow2 disk), the
 * base of incremental backup. libvirt 9.0 creates and deletes them only while the domain runs
 * ("cannot create/delete checkpoint for inactive domain"), so both check the state first.
 */
import { performance } from 'node:perf_hooks';
import { ErrorCode } from '../../shared/errors.ts';
import { CheckpointDeleteFlags, CheckpointXmlFlags, LibvirtRemoteError } from '../libvirt/index.ts';
import type { DomainCheckpoint } from '../libvirt/index.ts';
import { isActive } from './context.ts';
import type { OpContext } from './context.ts';
import { ActionError } from './errors.ts';
import { PauseWatcher } from './measure.ts';
import { isOwnName } from './names.ts';
import { byAge, selectForPruning } from './retention.ts';
import { checkpointXml, parseCheckpointXml } from './xml.ts';
import type {
  CheckpointInfo,
  CheckpointListResult,
  CheckpointMeasure,
  CreateResult,
  DeleteResult,
} from './types.ts';

export async function createCheckpoint(ctx: OpContext): Promise<CreateResult> {
  if (ctx.plannedName === null) throw new Error('create without a planned name');
  const name = ctx.plannedName;
  await requireActive(ctx, `create checkpoint ${name}`);
  ctx.step(`checking that checkpoint ${name} does not exist`);
  if (await ctx.client.checkpointLookupByName(ctx.dom, name, ctx.call())) {
    throw new ActionError(
      ErrorCode.ACTION_STATE,
      `Cannot create checkpoint ${name} of ${ctx.dom.name}: it exists already`,
    );
  }
  const watcher = await PauseWatcher.open(ctx);
  const startWall = Date.now();
  const t0 = performance.now();
  let durationMs: number;
  let pausedMs: number;
  try {
    ctx.step(`creating checkpoint ${name}`);
    await ctx.client.checkpointCreateXml(
      ctx.dom,
      checkpointXml({ name, description: ctx.req.params.description }),
      0,
      ctx.call(),
    );
    durationMs = Math.round(performance.now() - t0);
    pausedMs = await watcher.pausedMs(startWall, Date.now());
  } finally {
    await watcher.close();
  }
  const measure: CheckpointMeasure = {
    name,
    kind: 'checkpoint',
    takenAt: new Date(startWall).toISOString(),
    durationMs,
    pausedMs,
    sizeBytes: await intervalSize(ctx, name).catch(() => null),
  };
  const retain = ctx.req.params.retain;
  if (retain === undefined) return { name, measure, pruned: [] };
  try {
    return { name, measure, pruned: await prune(ctx, retain, name) };
  } catch (err) {
    return { name, measure, pruned: [], pruneError: (err as Error).message };
  }
}

export async function listCheckpoints(ctx: OpContext): Promise<CheckpointListResult> {
  const active = isActive((await ctx.state()).code);
  ctx.step('listing checkpoints');
  const out: CheckpointInfo[] = [];
  for (const c of await ctx.client.listAllCheckpoints(ctx.dom, 0, ctx.call())) {
    // SIZE needs a running domain (QEMU counts the dirty bits).
    const p = parseCheckpointXml(
      await ctx.client.checkpointGetXmlDesc(c, active ? CheckpointXmlFlags.SIZE : 0, ctx.call()),
    );
    out.push({
      name: c.name,
      own: isOwnName(c.name),
      creationTime: new Date(p.creationTime * 1000).toISOString(),
      description: p.description,
      parent: p.parent,
      sizeBytes: active ? p.sizeBytes : null,
    });
  }
  return { checkpoints: out.sort((a, b) => byAge(aged(a), aged(b))) };
}

/**
 * Deletes one checkpoint. When QEMU died (SIGKILL, crash) its dirty bitmaps were never written
 * back to the qcow2, so libvirt keeps a checkpoint whose bitmap is gone ("bitmap … not found
 * in backing chain") and refuses a normal delete; then only its metadata is left to remove.
 */
export async function deleteCheckpoint(ctx: OpContext, ck: DomainCheckpoint): Promise<void> {
  try {
    await ctx.client.checkpointDelete(ck, 0, ctx.call());
  } catch (err) {
    if (!(err instanceof LibvirtRemoteError) || !/bitmap .* not found/i.test(err.message))
      throw err;
    ctx.log.warn(
      { domainUuid: ctx.dom.uuid, checkpoint: ck.name, err: err.message },
      'checkpoint bitmap lost (QEMU did not shut down cleanly): removing its metadata only',
    );
    await ctx.client.checkpointDelete(ck, CheckpointDeleteFlags.METADATA_ONLY, ctx.call());
  }
}

export async function deleteCheckpoints(ctx: OpContext): Promise<DeleteResult> {
  const { name, retain } = ctx.req.params;
  await requireActive(ctx, name !== undefined ? `delete checkpoint ${name}` : 'prune checkpoints');
  const deleted: string[] = [];
  if (name !== undefined) {
    ctx.step(`looking up checkpoint ${name}`);
    const ck = await ctx.client.checkpointLookupByName(ctx.dom, name, ctx.call());
    if (!ck)
      throw new ActionError(
        ErrorCode.ACTION_NOT_FOUND,
        `Cannot delete checkpoint ${name} of ${ctx.dom.name}: no such checkpoint`,
      );
    ctx.step(`deleting checkpoint ${name}`);
    await deleteCheckpoint(ctx, ck);
    deleted.push(name);
  }
  if (retain !== undefined) deleted.push(...(await prune(ctx, retain, null)));
  return { deleted };
}

/**
 * S of a new checkpoint: the bytes written since its parent, which is libvirt's SIZE of the
 * parent right after the new one froze the parent's bitmap; null for the first of a chain.
 */
async function intervalSize(ctx: OpContext, name: string): Promise<number | null> {
  ctx.step(`reading checkpoint ${name}'s parent and its size`);
  const ck = await ctx.client.checkpointLookupByName(ctx.dom, name, ctx.call());
  if (!ck) return null;
  const parent = parseCheckpointXml(
    await ctx.client.checkpointGetXmlDesc(ck, 0, ctx.call()),
  ).parent;
  if (parent === null) return null;
  const pk = await ctx.client.checkpointLookupByName(ctx.dom, parent, ctx.call());
  return pk
    ? parseCheckpointXml(
        await ctx.client.checkpointGetXmlDesc(pk, CheckpointXmlFlags.SIZE, ctx.call()),
      ).sizeBytes
    : null;
}

async function prune(ctx: OpContext, retain: number, keep: string | null): Promise<string[]> {
  ctx.step('listing checkpoints for retention');
  const items: { name: string; creationTime: number }[] = [];
  for (const c of await ctx.client.listAllCheckpoints(ctx.dom, 0, ctx.call())) {
    if (isOwnName(c.name))
      items.push({
        name: c.name,
        creationTime: parseCheckpointXml(await ctx.client.checkpointGetXmlDesc(c, 0, ctx.call()))
          .creationTime,
      });
  }
  const deleted: string[] = [];
  for (const n of selectForPruning(items, retain, new Set(ctx.req.params.protect ?? []), keep)) {
    ctx.step(`deleting checkpoint ${n} (retention)`);
    const ck = await ctx.client.checkpointLookupByName(ctx.dom, n, ctx.call());
    if (ck) await deleteCheckpoint(ctx, ck);
    deleted.push(n);
  }
  return deleted;
}

async function requireActive(ctx: OpContext, what: string): Promise<void> {
  const s = await ctx.state();
  if (!isActive(s.code)) {
    throw new ActionError(
      ErrorCode.ACTION_STATE,
      `Cannot ${what} of ${ctx.dom.name}: it is ${s.state} (${s.reason}); libvirt 9 handles checkpoints only while the domain runs`,
    );
  }
}

function aged(c: CheckpointInfo): { name: string; creationTime: number } {
  return { name: c.name, creationTime: Date.parse(c.creationTime) / 1000 };
}
