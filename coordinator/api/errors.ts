/** An API refusal: an HTTP status, a stable code (docs/errors.md) and a message. */
import type { ServerResponse } from 'node:http';
import { AgentError } from '../../shared/errors.ts';
import type { ErrorCode } from '../../shared/errors.ts';

/** A refusal the API answers with `status` and `{ code, message, retryAfterMs? }`. */
export class ApiError extends AgentError {
  readonly status: number;
  readonly retryAfterMs: number | null;
  readonly extra: Readonly<Record<string, unknown>>;
  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    o: { retryAfterMs?: number; extra?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(code, message, { cause: o.cause });
    this.status = status;
    this.retryAfterMs = o.retryAfterMs ?? null;
    this.extra = o.extra ?? {};
  }
}

/** Writes a JSON answer (no-store: nothing here is cacheable). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

/** Writes an {@link ApiError} as `{ code, message, retryAfterMs?, ... }`. */
export function sendError(res: ServerResponse, e: ApiError): void {
  if (e.retryAfterMs !== null && !res.headersSent)
    res.setHeader('retry-after', String(Math.max(1, Math.ceil(e.retryAfterMs / 1000))));
  if (e.status === 401 && !res.headersSent)
    res.setHeader('www-authenticate', 'Bearer realm="virt-ft-coordinator"');
  sendJson(res, e.status, {
    code: e.code,
    message: e.message,
    ...(e.retryAfterMs === null ? {} : { retryAfterMs: e.retryAfterMs }),
    ...e.extra,
  });
}
