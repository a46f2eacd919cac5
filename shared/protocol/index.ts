/**
 * The status stream's wire protocol (docs/protocol.md): versioned zod schemas both sides
 * validate, the parse/encode functions, limits and close codes.
 */
export * from './version.ts';
export * from './fields.ts';
export * from './status.ts';
export * from './events.ts';
export * from './commands.ts';
export * from './messages.ts';
export * from './codec.ts';
