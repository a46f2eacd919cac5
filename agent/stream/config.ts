import { isIP } from 'node:net';
import { z } from 'zod';
import { intField as int, msField as ms } from '../config/fields.ts';
import { DEFAULT_STREAM_PATH, ID_RE, LIMITS, ROLES } from '../../shared/protocol/index.ts';

/** One bearer token: its id (logged), its role, and the SHA-256 of the token (hex); never the token. */
export const TokenEntrySchema = z.strictObject({
  id: z.string().regex(ID_RE),
  role: z.enum(ROLES),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
  /** After this time the token is refused (rotation: list old and new with the same id). */
  expiresAt: z.iso.datetime().optional(),
});
export type TokenEntry = z.infer<typeof TokenEntrySchema>;

/**
 * A TLS server's files (PEM), null for plain: `clientCaFile` also requires a client
 * certificate signed by that CA. Shared by the agent's stream and the coordinator's API.
 */
export const ServerTlsSchema = z
  .strictObject({
    certFile: z.string().min(1),
    keyFile: z.string().min(1),
    clientCaFile: z.string().min(1).nullable().default(null),
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.3'),
  })
  .nullable()
  .default(null);

/**
 * The `stream` section of the agent's config: the status stream server (agent/stream). Off
 * unless `listen` is set; never on all interfaces unless `allowAnyAddress`; plain (non-TLS)
 * only on loopback unless `allowPlaintext` (behind a TLS-terminating proxy on the host).
 * Every limit follows reliability.md §2.2 and §2.5; docs/protocol.md lists them.
 */
export const StreamConfigSchema = z
  .strictObject({
    /** `host:port` (`[::1]:7443` for IPv6) to listen on; an IP address or `localhost`. @default null (off) */
    listen: z.string().max(64).nullable().default(null),
    path: z
      .string()
      .regex(/^\/[A-Za-z0-9._~/-]{0,63}$/)
      .default(DEFAULT_STREAM_PATH),
    allowAnyAddress: z.boolean().default(false),
    allowPlaintext: z.boolean().default(false),
    /** TLS: PEM files. `clientCaFile`: also require a client certificate signed by that CA. */
    tls: ServerTlsSchema,
    tokens: z.array(TokenEntrySchema).max(64).default([]),
    /** A JSON file `{ "tokens": [TokenEntry…] }` (root-owned, 0600), read at start, added to `tokens`. */
    tokenFile: z.string().min(1).nullable().default(null),
    /** Browser origins allowed; a request with any other `Origin` header gets 403. */
    allowedOrigins: z.array(z.string().min(1).max(256)).max(32).default([]),
    maxConnections: int(1, 256, 8),
    maxPayloadBytes: int(1024, 1024 * 1024, LIMITS.maxClientMessageBytes),
    headersTimeoutMs: ms(100, 5_000),
    requestTimeoutMs: ms(100, 10_000),
    /** How long a peer that does not answer our close frame keeps its socket. */
    closeTimeoutMs: ms(10, 2_000),
    /** ws ping every this often; a client that did not pong since the last one is terminated. */
    pingIntervalMs: ms(10, 15_000),
    /** Stats deltas cadence; 0: no stats messages. */
    statsIntervalMs: z.number().int().min(0).max(3_600_000).default(15_000),
    backpressure: z
      .strictObject({
        /** Above this many buffered bytes, a client's stats are coalesced (latest per VM). */
        coalesceBytes: int(1024, 2 ** 30, 1024 * 1024),
        /** Above this, events are skipped; the client gets a gap and a snapshot once it drains. */
        gapBytes: int(1024, 2 ** 30, 4 * 1024 * 1024),
        /** Above gapBytes this long: the client is told and closed with 1013. */
        slowCloseMs: ms(10, 30_000),
        /** How often slow clients are checked. */
        checkIntervalMs: ms(5, 250),
      })
      .prefault({}),
    journal: z
      .strictObject({
        /** Events kept for resume (the journal is compacted to half of this past it). */
        maxEvents: int(16, 1_000_000, 10_000),
        maxBytes: int(64 * 1024, 1024 * 1024 * 1024, 16 * 1024 * 1024),
      })
      .prefault({}),
    limits: z
      .strictObject({
        /** Commands per connection: token bucket rate and burst. */
        commandsPerSec: z.number().min(0.01).max(10_000).default(10),
        commandBurst: int(1, 100_000, 20),
        /** Any message per connection (pings, subscribes, commands). */
        messagesPerSec: z.number().min(0.01).max(100_000).default(50),
        messageBurst: int(1, 1_000_000, 100),
        /** Messages refused for rate this long without a pause: closed with 1008. */
        floodCloseMs: ms(10, 3_000),
        handshakesPerSecPerIp: z.number().min(0.01).max(10_000).default(5),
        handshakeBurst: int(1, 100_000, 10),
        /** Destructive or expensive actions per VM: at most one per this. 0: no limit. */
        destructiveCooldownMs: ms(0, 30_000),
        /** Actions from the stream running at once on this host. */
        maxConcurrentActions: int(1, 64, 4),
      })
      .prefault({}),
    /** How long a policy.set idempotency key is remembered (the executor keeps its own). */
    keyRetentionMs: ms(60_000, 86_400_000),
  })
  .superRefine((c, ctx) => {
    if (c.listen === null) return;
    const addr = parseListen(c.listen);
    if (typeof addr === 'string') {
      ctx.addIssue({ code: 'custom', path: ['listen'], message: addr });
      return;
    }
    if (isAnyAddress(addr.host) && !c.allowAnyAddress)
      ctx.addIssue({
        code: 'custom',
        path: ['listen'],
        message: `${addr.host} listens on every interface: name the management address, or set allowAnyAddress`,
      });
    if (c.tls === null && !isLoopback(addr.host) && !c.allowPlaintext)
      ctx.addIssue({
        code: 'custom',
        path: ['tls'],
        message: `plain ws on ${addr.host} (not loopback) needs tls, or allowPlaintext behind a TLS proxy`,
      });
    if (c.tokens.length === 0 && c.tokenFile === null)
      ctx.addIssue({
        code: 'custom',
        path: ['tokens'],
        message: 'the stream needs at least one token (tokens or tokenFile)',
      });
    if (c.backpressure.coalesceBytes > c.backpressure.gapBytes)
      ctx.addIssue({
        code: 'custom',
        path: ['backpressure', 'coalesceBytes'],
        message: 'must not be above gapBytes',
      });
  });
export type StreamConfig = z.infer<typeof StreamConfigSchema>;
export type StreamConfigInput = z.input<typeof StreamConfigSchema>;

/** `host:port` → parts, or why not. */
export function parseListen(listen: string): { host: string; port: number } | string {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen);
  if (!m) return `listen must be host:port or [ipv6]:port, got ${JSON.stringify(listen)}`;
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (port > 65535) return `port must be at most 65535, got ${port}`;
  if (host !== 'localhost' && isIP(host) === 0)
    return `listen host must be an IP address or localhost, got ${JSON.stringify(host)}`;
  if (m[1] !== undefined && isIP(host) !== 6) return `[${host}] is not an IPv6 address`;
  return { host, port };
}

function isAnyAddress(host: string): boolean {
  return host === '0.0.0.0' || /^[0:]+$/.test(host) || host === '::ffff:0.0.0.0';
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
