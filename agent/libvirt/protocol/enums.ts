/**
 * libvirt's enums as names, checked against libvirt-api.xml of 9.0.0 (libvirt-rpc.md §6).
 * Index = wire value. Values past the end of a table decode to `Unknown(<n>)`, never throw:
 * a newer daemon may add values.
 */

/** virDomainState. */
export const DOMAIN_STATES = [
  'NoState',
  'Running',
  'Blocked',
  'Paused',
  'Shutdown',
  'Shutoff',
  'Crashed',
  'PMSuspended',
] as const;
export type DomainStateName = (typeof DOMAIN_STATES)[number] | `Unknown(${number})`;

/** Numeric virDomainState values. */
export const DomainState = {
  NOSTATE: 0,
  RUNNING: 1,
  BLOCKED: 2,
  PAUSED: 3,
  SHUTDOWN: 4,
  SHUTOFF: 5,
  CRASHED: 6,
  PMSUSPENDED: 7,
} as const;

/** Reason enums, one per state (virDomainRunningReason, …). */
export const DOMAIN_STATE_REASONS: readonly (readonly string[])[] = [
  ['Unknown'],
  [
    'Unknown',
    'Booted',
    'Migrated',
    'Restored',
    'FromSnapshot',
    'Unpaused',
    'MigrationCanceled',
    'SaveCanceled',
    'Wakeup',
    'Crashed',
    'Postcopy',
    'PostcopyFailed',
  ],
  ['Unknown'],
  [
    'Unknown',
    'User',
    'Migration',
    'Save',
    'Dump',
    'IOError',
    'Watchdog',
    'FromSnapshot',
    'ShuttingDown',
    'Snapshot',
    'Crashed',
    'StartingUp',
    'Postcopy',
    'PostcopyFailed',
  ],
  ['Unknown', 'User'],
  [
    'Unknown',
    'Shutdown',
    'Destroyed',
    'Crashed',
    'Migrated',
    'Saved',
    'Failed',
    'FromSnapshot',
    'Daemon',
  ],
  ['Unknown', 'Panicked'],
  ['Unknown'],
];

/** virDomainEventType: the `event` of a LIFECYCLE event. */
export const LIFECYCLE_EVENTS = [
  'Defined',
  'Undefined',
  'Started',
  'Suspended',
  'Resumed',
  'Stopped',
  'Shutdown',
  'PMSuspended',
  'Crashed',
] as const;

/** Numeric virDomainEventType values. */
export const LifecycleEvent = {
  DEFINED: 0,
  UNDEFINED: 1,
  STARTED: 2,
  SUSPENDED: 3,
  RESUMED: 4,
  STOPPED: 5,
  SHUTDOWN: 6,
  PMSUSPENDED: 7,
  CRASHED: 8,
} as const;

/** The detail enums, one per lifecycle event type. */
export const LIFECYCLE_DETAILS: readonly (readonly string[])[] = [
  ['Added', 'Updated', 'Renamed', 'FromSnapshot'],
  ['Removed', 'Renamed'],
  ['Booted', 'Migrated', 'Restored', 'FromSnapshot', 'Wakeup'],
  [
    'Paused',
    'Migrated',
    'IOError',
    'Watchdog',
    'Restored',
    'FromSnapshot',
    'APIError',
    'Postcopy',
    'PostcopyFailed',
  ],
  ['Unpaused', 'Migrated', 'FromSnapshot', 'Postcopy', 'PostcopyFailed'],
  ['Shutdown', 'Destroyed', 'Crashed', 'Migrated', 'Saved', 'Failed', 'FromSnapshot'],
  ['Finished', 'Guest', 'Host'],
  ['Memory', 'Disk'],
  ['Panicked', 'Crashloaded'],
];

export const WATCHDOG_ACTIONS = [
  'None',
  'Pause',
  'Reset',
  'Poweroff',
  'Shutdown',
  'Debug',
  'InjectNMI',
] as const;
export const IO_ERROR_ACTIONS = ['None', 'Pause', 'Report'] as const;
export const BLOCK_JOB_TYPES = [
  'Unknown',
  'Pull',
  'Copy',
  'Commit',
  'ActiveCommit',
  'Backup',
] as const;
export const BLOCK_JOB_STATUSES = ['Completed', 'Failed', 'Canceled', 'Ready'] as const;
export const AGENT_STATES = ['Unknown', 'Connected', 'Disconnected'] as const;
export const AGENT_REASONS = ['Unknown', 'DomainStarted', 'Channel'] as const;
export const MEMORY_FAILURE_RECIPIENTS = ['Hypervisor', 'Guest'] as const;
export const MEMORY_FAILURE_ACTIONS = ['Ignore', 'Inject', 'Fatal', 'Reset'] as const;
export const JOB_TYPES = [
  'None',
  'Bounded',
  'Unbounded',
  'Completed',
  'Failed',
  'Cancelled',
] as const;
export const JOB_OPERATIONS = [
  'Unknown',
  'Start',
  'Save',
  'Restore',
  'MigrationIn',
  'MigrationOut',
  'Snapshot',
  'SnapshotRevert',
  'Dump',
  'Backup',
  'SnapshotDelete',
] as const;

/** Name at `index` in `table`, or `Unknown(<n>)`. */
export function nameOf(table: readonly string[], index: number): string {
  return table[index] ?? `Unknown(${index})`;
}

export function stateName(state: number): string {
  return nameOf(DOMAIN_STATES, state);
}

export function stateReasonName(state: number, reason: number): string {
  return nameOf(DOMAIN_STATE_REASONS[state] ?? [], reason);
}

export function lifecycleEventName(event: number): string {
  return nameOf(LIFECYCLE_EVENTS, event);
}

export function lifecycleDetailName(event: number, detail: number): string {
  return nameOf(LIFECYCLE_DETAILS[event] ?? [], detail);
}

/** virDomainControlState. */
export const CONTROL_STATES = ['Ok', 'Job', 'Occupied', 'Error'] as const;
export const CONTROL_ERROR_DETAILS = ['None', 'Unknown', 'Monitor', 'Internal'] as const;
