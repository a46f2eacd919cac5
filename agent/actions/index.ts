/**
 * The action layer: the only code that changes VMs. Build one {@link ActionExecutor} per agent,
 * call `recover()` once libvirt is connected, then `run()` every action through it.
 */
export { ActionExecutor } from './executor.ts';
export { ACTION_KINDS, READ_ONLY_KINDS } from './types.ts';
export type * from './types.ts';
export { isOwnName, NAME_RE, OWN_PREFIX } from './names.ts';
export { MAX_TEXT_CHARS, validateRequest } from './validate.ts';
export { checkpointXml, snapshotXml } from './xml.ts';
