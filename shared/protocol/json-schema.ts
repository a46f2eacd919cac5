/**
 * The protocol as JSON Schema (draft 2020-12), generated from the zod schemas with
 * `z.toJSONSchema()`: committed as docs/protocol.schema.json for clients in other languages.
 * Regenerate with `node dist/shared/protocol/gen-schema.js`; test/unit/protocol/schema-drift
 * fails when the committed file differs. Refinements (code-point lengths, lone surrogates,
 * "name or retain") are zod-only: the JSON Schema is slightly looser, never stricter.
 */
import { z } from 'zod';
import { AckMessage, CommandMessage, ErrorMessage, ResultMessage } from './commands.ts';
import { EventMessage, StatsMessage } from './events.ts';
import { Json } from './fields.ts';
import {
  ClientMessage,
  GapMessage,
  HelloMessage,
  PingMessage,
  PongMessage,
  ServerMessage,
  SnapshotMessage,
  SubscribedMessage,
  SubscribeMessage,
} from './messages.ts';
import { AgentStatusSchema } from './status.ts';
import { PROTOCOL_VERSION, SUBPROTOCOL } from './version.ts';

/** Schemas that get a name under `$defs`, in this order. */
const NAMED: readonly (readonly [string, z.ZodType])[] = [
  ['ClientMessage', ClientMessage],
  ['ServerMessage', ServerMessage],
  ['SubscribeMessage', SubscribeMessage],
  ['CommandMessage', CommandMessage],
  ['PingMessage', PingMessage],
  ['HelloMessage', HelloMessage],
  ['SnapshotMessage', SnapshotMessage],
  ['EventMessage', EventMessage],
  ['StatsMessage', StatsMessage],
  ['GapMessage', GapMessage],
  ['SubscribedMessage', SubscribedMessage],
  ['AckMessage', AckMessage],
  ['ResultMessage', ResultMessage],
  ['ErrorMessage', ErrorMessage],
  ['PongMessage', PongMessage],
  ['AgentStatus', AgentStatusSchema],
  ['Json', Json],
];

/** The JSON Schema document: any message of either direction. */
export function protocolJsonSchema(): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of NAMED) registry.add(schema, { id });
  const body = z.toJSONSchema(z.union([ClientMessage, ServerMessage]), {
    metadata: registry,
    target: 'draft-2020-12',
    unrepresentable: 'throw',
  });
  const { $schema, ...rest } = body;
  return {
    $schema,
    $id: `https://virt-ft.invalid/protocol/v${PROTOCOL_VERSION}.schema.json`,
    title: `virt-ft status stream, protocol v${PROTOCOL_VERSION} (subprotocol ${SUBPROTOCOL})`,
    description:
      'Generated from shared/protocol/*.ts by `node dist/shared/protocol/gen-schema.js`. Do not edit. See docs/protocol.md.',
    ...rest,
  };
}

/** The committed file's exact text. */
export function renderProtocolSchema(): string {
  return `${JSON.stringify(protocolJsonSchema(), null, 2)}\n`;
}
