/**
 * Lifecycle operations. Each reads the state first and does only what is needed to reach its
 * goal, so a repeat is harmless (`steps` empty). A restart escalates: a running guest is asked
 * to shut down (ACPI or guest agent, libvirt's default) and destroyed if it has not stopped
 * after `gracefulTimeoutMs`; a paused or crashed one is destroyed at once; then it is started,
 * and the operation returns when libvirt reports it running.
 */
import { ErrorCode } from '../../shared/errors.ts';
import { DomainState, isVirError, VirErrorCode } from '../libvirt/index.ts';
import { isActive, summary } from './context.ts';
import type { DomainStateNow, OpContext } from './context.ts';
import { ActionError } from './errors.ts';
import type { LifecycleResult } from './types.ts';

type Step = LifecycleResult['steps'][number];

/** Default graceful wait of shutdown and restart. */
export const DEFAULT_GRACEFUL_TIMEOUT_MS = 30_000;

/** States in which the guest runs code and can act on a shutdown request. */
const GUEST_RUNS: ReadonlySet<number> = new Set([
  DomainState.RUNNING,
  DomainState.BLOCKED,
  DomainState.SHUTDOWN,
  DomainState.PMSUSPENDED,
]);

export async function startDomain(ctx: OpContext): Promise<LifecycleResult> {
  const before = await ctx.state();
  if (before.code === DomainState.CRASHED) {
    throw new ActionError(
      ErrorCode.ACTION_STATE,
      `Cannot start ${name(ctx)}: it is crashed (${before.reason}) and still holds its QEMU process; use domain.restart`,
    );
  }
  if (isActive(before.code)) return done(before, before, []);
  await start(ctx);
  return done(before, await waitRunning(ctx), ['start']);
}

export async function shutdownDomain(ctx: OpContext): Promise<LifecycleResult> {
  const before = await ctx.state();
  if (!isActive(before.code)) return done(before, before, []);
  const { steps, escalated } = await stop(ctx, before);
  return done(before, await ctx.state(), steps, escalated);
}

export async function destroyDomain(ctx: OpContext): Promise<LifecycleResult> {
  const before = await ctx.state();
  if (!isActive(before.code)) return done(before, before, []);
  const steps: Step[] = (await destroy(ctx)) ? ['destroy'] : [];
  return done(before, await ctx.state(), steps);
}

export async function restartDomain(ctx: OpContext): Promise<LifecycleResult> {
  const before = await ctx.state();
  const steps: Step[] = [];
  let escalated = false;
  if (isActive(before.code)) {
    const r = await stop(ctx, before);
    steps.push(...r.steps);
    escalated = r.escalated;
  }
  await start(ctx);
  steps.push('start');
  return done(before, await waitRunning(ctx), steps, escalated);
}

export async function suspendDomain(ctx: OpContext): Promise<LifecycleResult> {
  const before = await ctx.state();
  if (before.code === DomainState.PAUSED) return done(before, before, []);
  if (before.code !== DomainState.RUNNING && before.code !== DomainState.BLOCKED) {
    throw new ActionError(
      ErrorCode.ACTION_STATE,
      `Cannot suspend ${name(ctx)}: it is ${before.state} (${before.reason}), not running`,
    );
  }
  ctx.step('suspending');
  await ctx.client.domainSuspend(ctx.dom, ctx.call());
  return done(before, await ctx.state(), ['suspend']);
}

export async function resumeDomain(ctx: OpContext): Promise<LifecycleResult> {
  const before = await ctx.state();
  if (before.code === DomainState.RUNNING) return done(before, before, []);
  if (before.code !== DomainState.PAUSED) {
    throw new ActionError(
      ErrorCode.ACTION_STATE,
      `Cannot resume ${name(ctx)}: it is ${before.state} (${before.reason}), not paused`,
    );
  }
  ctx.step('resuming');
  await ctx.client.domainResume(ctx.dom, ctx.call());
  return done(before, await ctx.state(), ['resume']);
}

export async function managedSaveDomain(ctx: OpContext): Promise<LifecycleResult> {
  const before = await ctx.state();
  if (!isActive(before.code)) {
    ctx.step('checking for a managed-save image');
    if (await ctx.client.domainHasManagedSaveImage(ctx.dom, ctx.call()))
      return done(before, before, []);
    throw new ActionError(
      ErrorCode.ACTION_STATE,
      `Cannot save ${name(ctx)}: it is shut off and has no managed-save image`,
    );
  }
  if (
    before.code !== DomainState.RUNNING &&
    before.code !== DomainState.PAUSED &&
    before.code !== DomainState.BLOCKED
  ) {
    throw new ActionError(
      ErrorCode.ACTION_STATE,
      `Cannot save ${name(ctx)}: it is ${before.state} (${before.reason})`,
    );
  }
  ctx.step('saving the domain (managed save)');
  await ctx.client.domainManagedSave(ctx.dom, 0, ctx.call());
  return done(before, await ctx.state(), ['managed-save']);
}

/** Stops an active domain: graceful with a timeout where the guest can act on it, else destroy. */
async function stop(
  ctx: OpContext,
  before: DomainStateNow,
): Promise<{ steps: Step[]; escalated: boolean }> {
  const graceMs = ctx.req.params.gracefulTimeoutMs ?? DEFAULT_GRACEFUL_TIMEOUT_MS;
  if (!GUEST_RUNS.has(before.code) || graceMs === 0) {
    return { steps: (await destroy(ctx)) ? ['destroy'] : [], escalated: false };
  }
  if (before.code !== DomainState.SHUTDOWN) {
    ctx.step('asking the guest to shut down');
    try {
      await ctx.client.domainShutdown(ctx.dom, 0, ctx.call());
    } catch (err) {
      // It may have stopped by itself since we looked; anything else is a real failure.
      if (!isVirError(err, VirErrorCode.OPERATION_INVALID)) throw err;
    }
  }
  ctx.step(`waiting up to ${graceMs} ms for the guest to shut down`);
  const r = await ctx.waitForState((s) => !isActive(s.code), graceMs);
  if (r.reached) return { steps: ['shutdown'], escalated: false };
  ctx.log.warn(
    { domainUuid: ctx.dom.uuid, gracefulTimeoutMs: graceMs },
    'guest did not shut down in time: destroying it',
  );
  return { steps: (await destroy(ctx)) ? ['shutdown', 'destroy'] : ['shutdown'], escalated: true };
}

/** Destroys; false when it had stopped already (libvirt: "domain is not running"). */
async function destroy(ctx: OpContext): Promise<boolean> {
  ctx.step('destroying the domain');
  try {
    await ctx.client.domainDestroy(ctx.dom, 0, ctx.call());
    return true;
  } catch (err) {
    if (isVirError(err, VirErrorCode.OPERATION_INVALID) && !isActive((await ctx.state()).code))
      return false;
    throw err;
  }
}

async function start(ctx: OpContext): Promise<void> {
  ctx.step('starting the domain');
  await ctx.client.domainCreate(ctx.dom, 0, ctx.call());
}

/** Waits (within the deadline) until libvirt reports the domain running. */
async function waitRunning(ctx: OpContext): Promise<DomainStateNow> {
  ctx.step('waiting for the domain to run');
  const r = await ctx.waitForState((s) => s.code === DomainState.RUNNING, ctx.remainingMs());
  if (!r.reached) {
    throw new ActionError(
      ErrorCode.ACTION_FAILED,
      `${name(ctx)} was started but is ${r.state.state} (${r.state.reason}), not running`,
    );
  }
  return r.state;
}

function done(
  before: DomainStateNow,
  after: DomainStateNow,
  steps: Step[],
  escalated = false,
): LifecycleResult {
  return { before: summary(before), after: summary(after), steps, escalated };
}

function name(ctx: OpContext): string {
  return `domain ${ctx.req.domainName ?? ctx.dom.name}`;
}
