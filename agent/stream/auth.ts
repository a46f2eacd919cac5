/**
 * Bearer tokens with roles (reliability.md §2.3). Tokens are kept only as SHA-256 hashes; a
 * presented token is hashed to the same fixed 32 bytes and compared with every entry by
 * `crypto.timingSafeEqual`, without an early exit, so neither its length nor which entry
 * matched shows in the time taken (and unequal lengths never reach timingSafeEqual, which
 * throws on them). The token itself is never logged; its `id` is the audit principal.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { stat, readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AgentError, ErrorCode } from '../../shared/errors.ts';
import type { Role } from '../../shared/protocol/index.ts';
import { TokenEntrySchema } from './config.ts';
import type { StreamConfig, TokenEntry } from './config.ts';

/** Who is on a connection. */
export interface Principal {
  /** The token's id (never the token). */
  readonly id: string;
  readonly role: Role;
  /** SHA-256 fingerprint of the client certificate, when TLS asked for one. */
  readonly certFingerprint: string | null;
  /** The peer's address. */
  readonly remote: string;
}

const TokenFileSchema = z.strictObject({ tokens: z.array(TokenEntrySchema).max(256) });
const MAX_TOKEN_CHARS = 4096;

/** `sha256(token)` as 64 hex digits: what the config stores. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The token of an `Authorization: Bearer …` header, or null when there is none or it is malformed. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined || header.length > MAX_TOKEN_CHARS + 7) return null;
  const m = /^Bearer +([\x21-\x7e]+)$/i.exec(header);
  return m?.[1] ?? null;
}

interface Entry {
  readonly id: string;
  readonly role: Role;
  readonly hash: Buffer;
  readonly expiresAt: number | null;
}

/** The configured tokens, as hashes. */
export class TokenTable {
  readonly #entries: readonly Entry[];

  constructor(entries: readonly TokenEntry[]) {
    this.#entries = entries.map((e) => ({
      id: e.id,
      role: e.role,
      hash: Buffer.from(e.sha256, 'hex'),
      expiresAt: e.expiresAt === undefined ? null : Date.parse(e.expiresAt),
    }));
  }

  /** The config's tokens plus those of its `tokenFile`. Throws VFT_ERR_CONFIG_INVALID on a bad file. */
  static async load(config: StreamConfig, log: Logger): Promise<TokenTable> {
    const file = config.tokenFile;
    if (file === null) return new TokenTable(config.tokens);
    let parsed: z.infer<typeof TokenFileSchema>;
    try {
      const st = await stat(file);
      if (st.size > 1024 * 1024) throw new Error(`${st.size} bytes is over the 1 MiB limit`);
      if ((st.mode & 0o077) !== 0)
        log.warn(
          { file, mode: (st.mode & 0o777).toString(8) },
          'stream token file is readable by others: chmod 600',
        );
      parsed = TokenFileSchema.parse(JSON.parse(await readFile(file, 'utf8')));
    } catch (err) {
      throw new AgentError(ErrorCode.CONFIG_INVALID, `Cannot use stream.tokenFile ${file}`, {
        cause: err,
      });
    }
    return new TokenTable([...config.tokens, ...parsed.tokens]);
  }

  get size(): number {
    return this.#entries.length;
  }

  /** The entry `token` belongs to, checked against every entry in constant time. */
  verify(
    token: string,
    nowMs: number = Date.now(),
  ): { ok: true; id: string; role: Role } | { ok: false; expired: boolean } {
    const presented = createHash('sha256').update(token, 'utf8').digest();
    let match: Entry | null = null;
    for (const e of this.#entries) {
      // No early exit: every entry is compared.
      if (timingSafeEqual(presented, e.hash) && match === null) match = e;
    }
    if (match === null) return { ok: false, expired: false };
    if (match.expiresAt !== null && nowMs >= match.expiresAt) return { ok: false, expired: true };
    return { ok: true, id: match.id, role: match.role };
  }
}
