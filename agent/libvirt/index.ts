/**
 * virt-ft's libvirt client: libvirt's RPC protocol in TypeScript, no native addon.
 * Self-contained: nothing here imports the rest of the agent.
 */
export { LibvirtClient } from './api.ts';
export type { DomainStateInfo } from './api.ts';
export { LibvirtConnection, orNull } from './client.ts';
export type { ConnectionInfo, OpenOptions } from './client.ts';
export * from './errors.ts';
export { ALL_EVENT_NAMES, DEFAULT_EVENT_NAMES, EVENT_SPECS } from './events/decode.ts';
export type { DomainEvent, DomainEventName } from './events/decode.ts';
export { EventQueue } from './events/queue.ts';
export type { EventGap } from './events/queue.ts';
export { EventSubscription } from './events/subscription.ts';
export type { SubscribeOptions } from './events/subscription.ts';
export * from './protocol/enums.ts';
export * from './protocol/flags.ts';
export { MetadataType } from './procedures/snapshot.ts';
export type { BlockInfo, JobInfo } from './procedures/snapshot.ts';
export type { ControlInfo, DomainInfo, DomainStatsRecord } from './procedures/domain.ts';
export type { NodeInfo } from './procedures/connect.ts';
export type {
  Domain,
  DomainCheckpoint,
  DomainSnapshot,
  TypedParams,
  TypedParamValue,
} from './protocol/types.ts';
export type { CallOptions, CloseInfo, RpcConnectionOptions } from './rpc/connection.ts';
export { parseLibvirtUri } from './transport/uri.ts';
export type { Endpoint } from './transport/uri.ts';
