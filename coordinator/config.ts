/**
 * The coordinator's configuration (`virt-ft coordinator --config FILE`): one zod schema gives the
 * types, the defaults and the validation; unknown keys are errors. Loaded as the agent's config
 * is (JSON with comments; every problem listed with its path; exit 78). docs/coordinator.md
 * explains every key.
 */
import { z } from 'zod';
import { intField as int, msField as ms } from '../agent/config/fields.ts';
import { loadConfigFile, validateWith } from '../agent/config/load.ts';
import { parseListen, ServerTlsSchema, TokenEntrySchema } from '../agent/stream/config.ts';
import { ID_RE } from '../shared/protocol/index.ts';

/** One agent the coordinator subscribes to. */
export const AgentTargetSchema = z
  .strictObject({
    /** The host's id in the fleet (the API and the CLI name it so); usually the agent's agentId. */
    id: z.string().regex(ID_RE),
    /** `wss://host:port/v1/stream` (`ws://` only to loopback). */
    url: z.url({ protocol: /^wss?$/ }),
    /** The bearer token (this file is then a secret: 0600), or `tokenFile` holding it. */
    token: z.string().min(16).max(4096).optional(),
    tokenFile: z.string().min(1).optional(),
    /** TLS: trust this CA (PEM) for the agent's certificate; present this client certificate. */
    caFile: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    /** The name the agent's certificate carries, when it differs from the URL's host. */
    servername: z.string().min(1).max(255).optional(),
  })
  .refine((a) => (a.token === undefined) !== (a.tokenFile === undefined), {
    error: 'set exactly one of token or tokenFile',
  })
  .refine((a) => (a.certFile === undefined) === (a.keyFile === undefined), {
    error: 'certFile and keyFile go together',
  })
  .refine((a) => !a.url.startsWith('ws://') || isLoopbackUrl(a.url), {
    error: 'plain ws:// only to a loopback address: use wss:// (TLS) to reach another host',
  });
/** One configured agent. */
export type AgentTarget = z.infer<typeof AgentTargetSchema>;

/** The admin API: HTTP + WebSocket, its own tokens, loopback by default. */
export const ApiConfigSchema = z
  .strictObject({
    /** `host:port`; an IP address or localhost. `0.0.0.0`/`::` need allowAnyAddress. */
    listen: z.string().max(64).default('127.0.0.1:7440'),
    allowAnyAddress: z.boolean().default(false),
    /** Plain HTTP off loopback only behind a TLS proxy on the host. */
    allowPlaintext: z.boolean().default(false),
    tls: ServerTlsSchema,
    /** Admin tokens, as SHA-256 hashes with roles (viewer reads; operator acts; admin sets policies). */
    tokens: z.array(TokenEntrySchema).max(256).default([]),
    tokenFile: z.string().min(1).nullable().default(null),
    allowedOrigins: z.array(z.string().min(1).max(256)).max(32).default([]),
    /** Largest request body and largest WebSocket frame from a client. */
    maxBodyBytes: int(256, 1024 * 1024, 64 * 1024),
    maxWatchers: int(1, 4096, 64),
    headersTimeoutMs: ms(100, 5_000),
    requestTimeoutMs: ms(100, 10_000),
    pingIntervalMs: ms(10, 15_000),
    limits: z
      .strictObject({
        /** Any request, per token. */
        requestsPerSec: z.number().min(0.01).max(100_000).default(50),
        requestBurst: int(1, 1_000_000, 100),
        /** POST /v1/actions, per token. */
        actionsPerSec: z.number().min(0.01).max(10_000).default(5),
        actionBurst: int(1, 100_000, 10),
        /** Failed authentications per source address. */
        authFailuresPerSec: z.number().min(0.01).max(10_000).default(5),
        authFailureBurst: int(1, 100_000, 20),
      })
      .prefault({}),
    /** How long POST /v1/actions waits for the agent's result. */
    actionTimeoutMs: ms(1_000, 600_000),
  })
  .prefault({});

/** The coordinator's configuration. */
export const CoordinatorConfigSchema = z
  .strictObject({
    /** Names this coordinator in logs. @default 'coordinator' */
    coordinatorId: z.string().regex(ID_RE).default('coordinator'),
    /** Where the event database lives (0700). */
    stateDir: z.string().min(1).default('/var/lib/virt-ft-coordinator'),
    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
      })
      .prefault({}),
    agents: z.array(AgentTargetSchema).max(10_000).default([]),
    /** Reconnect backoff per agent: exponential with ± jitter, reset after a subscription. */
    reconnect: z
      .strictObject({
        baseMs: ms(10, 1_000),
        factor: z.number().min(1).max(10).default(1.6),
        capMs: ms(100, 30_000),
        jitter: z.number().min(0).max(1).default(0.2),
      })
      .prefault({}),
    /** ws ping to each agent; one unanswered ping marks the agent unreachable and reconnects. */
    pingIntervalMs: ms(50, 15_000),
    /** How long a connection attempt (TCP, TLS, upgrade) may take. */
    connectTimeoutMs: ms(100, 10_000),
    store: z
      .strictObject({
        /** `sqlite` (better-sqlite3, the default) or `memory` (nothing persisted: tests, benches). */
        kind: z.enum(['sqlite', 'memory']).default('sqlite'),
        /** @default `<stateDir>/events.db` */
        path: z.string().min(1).nullable().default(null),
        /** Events older than this are deleted. @default 30 days */
        maxAgeMs: z
          .number()
          .int()
          .min(60_000)
          .default(30 * 24 * 3_600_000),
        /** At most this many events are kept (the oldest go first). */
        maxEvents: int(1_000, 1_000_000_000, 5_000_000),
        sweepIntervalMs: ms(1_000, 60_000),
      })
      .prefault({}),
    api: ApiConfigSchema,
  })
  .superRefine((c, ctx) => {
    const ids = new Set<string>();
    c.agents.forEach((a, i) => {
      if (ids.has(a.id))
        ctx.addIssue({
          code: 'custom',
          path: ['agents', i, 'id'],
          message: `duplicate id ${a.id}`,
        });
      ids.add(a.id);
    });
    const addr = parseListen(c.api.listen);
    if (typeof addr === 'string') {
      ctx.addIssue({ code: 'custom', path: ['api', 'listen'], message: addr });
      return;
    }
    if ((addr.host === '0.0.0.0' || /^[0:]+$/.test(addr.host)) && !c.api.allowAnyAddress)
      ctx.addIssue({
        code: 'custom',
        path: ['api', 'listen'],
        message: `${addr.host} listens on every interface: name the address, or set allowAnyAddress`,
      });
    if (c.api.tls === null && !isLoopbackHost(addr.host) && !c.api.allowPlaintext)
      ctx.addIssue({
        code: 'custom',
        path: ['api', 'tls'],
        message: `plain HTTP on ${addr.host} (not loopback) needs tls, or allowPlaintext behind a TLS proxy`,
      });
    if (c.api.tokens.length === 0 && c.api.tokenFile === null)
      ctx.addIssue({
        code: 'custom',
        path: ['api', 'tokens'],
        message: 'the API needs at least one token (tokens or tokenFile)',
      });
  });
/** The validated config (defaults filled). */
export type CoordinatorConfig = z.infer<typeof CoordinatorConfigSchema>;
/** The config as written (defaults optional). */
export type CoordinatorConfigInput = z.input<typeof CoordinatorConfigSchema>;

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function isLoopbackUrl(url: string): boolean {
  try {
    return isLoopbackHost(new URL(url).hostname.replace(/^\[|\]$/g, ''));
  } catch {
    return false;
  }
}

/** Validates a parsed config; throws {@link ConfigError} listing every problem with its path. */
export function validateCoordinatorConfig(value: unknown, source: string): CoordinatorConfig {
  return validateWith(CoordinatorConfigSchema, value, source);
}

/** Reads, parses (JSON with comments) and validates the config file. */
export function loadCoordinatorConfig(file: string): Promise<CoordinatorConfig> {
  return loadConfigFile(CoordinatorConfigSchema, file);
}
