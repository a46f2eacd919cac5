/**
 * The admin API's authentication and limits (reliability.md §2.3, §2.5): bearer tokens kept as
 * SHA-256 hashes with roles, compared in constant time against every entry (the agent's
 * TokenTable), an Origin allowlist, failed attempts limited per source address, and token
 * buckets per principal for requests and for actions. Checked before any body is read and
 * before a WebSocket upgrade.
 */
import type { IncomingMessage } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { bearerToken, TokenTable } from '../../agent/stream/auth.ts';
import { TokenEntrySchema } from '../../agent/stream/config.ts';
import { KeyedBuckets, TokenBucket } from '../../agent/stream/rate-limit.ts';
import { AgentError, ErrorCode } from '../../shared/errors.ts';
import { roleAtLeast } from '../../shared/protocol/index.ts';
import type { Role } from '../../shared/protocol/index.ts';
import type { CoordinatorConfig } from '../config.ts';
import { ApiError } from './errors.ts';

/** Who sent a request. */
export interface ApiPrincipal {
  readonly id: string;
  readonly role: Role;
  readonly remote: string;
}

type ApiConfig = CoordinatorConfig['api'];

/** Reads `api.tokens` plus the entries of `api.tokenFile` (JSON `{ "tokens": [...] }`). */
export async function loadApiTokens(c: ApiConfig): Promise<TokenTable> {
  if (c.tokenFile === null) return new TokenTable(c.tokens);
  try {
    const st = await stat(c.tokenFile);
    if (st.size > 1024 * 1024) throw new Error(`${st.size} bytes is over the 1 MiB limit`);
    const file = z
      .strictObject({ tokens: z.array(TokenEntrySchema).max(256) })
      .parse(JSON.parse(await readFile(c.tokenFile, 'utf8')));
    return new TokenTable([...c.tokens, ...file.tokens]);
  } catch (err) {
    throw new AgentError(ErrorCode.CONFIG_INVALID, `Cannot use api.tokenFile ${c.tokenFile}`, {
      cause: err,
    });
  }
}

/** Authenticates API requests and upgrades, and keeps the per-token and per-address limits. */
export class ApiAuth {
  readonly #c: ApiConfig;
  readonly #tokens: TokenTable;
  readonly #failures: KeyedBuckets;
  readonly #requests: KeyedBuckets;
  readonly #actions = new Map<string, TokenBucket>();
  readonly #clock = (): number => performance.now();

  constructor(c: ApiConfig, tokens: TokenTable) {
    this.#c = c;
    this.#tokens = tokens;
    const l = c.limits;
    this.#failures = new KeyedBuckets(
      () => new TokenBucket(l.authFailuresPerSec, l.authFailureBurst, this.#clock),
    );
    this.#requests = new KeyedBuckets(
      () => new TokenBucket(l.requestsPerSec, l.requestBurst, this.#clock),
    );
  }

  /** The request's principal (at least `need`), or an {@link ApiError} (401/403/429). */
  check(req: IncomingMessage, need: Role): ApiPrincipal {
    const remote = req.socket.remoteAddress ?? 'unknown';
    const origin = req.headers.origin;
    if (origin !== undefined && !this.#c.allowedOrigins.includes(origin))
      throw new ApiError(403, ErrorCode.COORD_FORBIDDEN, 'This Origin is not allowed');
    const token = bearerToken(req.headers.authorization);
    const v = token === null ? null : this.#tokens.verify(token);
    if (v === null || !v.ok) {
      if (!this.#failures.take(remote))
        throw new ApiError(429, ErrorCode.COORD_RATE_LIMITED, 'Too many failed authentications', {
          retryAfterMs: 1_000,
        });
      const why =
        v === null
          ? 'An Authorization: Bearer token is required'
          : v.expired
            ? 'The token has expired'
            : 'The token is not valid';
      throw new ApiError(401, ErrorCode.COORD_AUTH, why);
    }
    if (!this.#requests.take(v.id))
      throw new ApiError(429, ErrorCode.COORD_RATE_LIMITED, 'Too many requests', {
        retryAfterMs: 1_000,
      });
    if (!roleAtLeast(v.role, need))
      throw new ApiError(
        403,
        ErrorCode.COORD_FORBIDDEN,
        `This needs the ${need} role; the token's role is ${v.role}`,
      );
    return { id: v.id, role: v.role, remote };
  }

  /** Spends one action token of `p`; throws 429 with the wait when there is none. */
  takeAction(p: ApiPrincipal): void {
    let b = this.#actions.get(p.id);
    if (!b) {
      b = new TokenBucket(this.#c.limits.actionsPerSec, this.#c.limits.actionBurst, this.#clock);
      this.#actions.set(p.id, b);
    }
    if (!b.take())
      throw new ApiError(429, ErrorCode.COORD_RATE_LIMITED, 'Too many actions from this token', {
        retryAfterMs: b.waitMs(),
      });
  }
}
