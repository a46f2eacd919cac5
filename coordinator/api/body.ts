/**
 * Reading a request body or a WebSocket frame from an admin, hostile-safe (reliability.md §4):
 * the size is capped while reading (413 past it, the rest is not read), then the same cheap
 * checks as the stream's parser run before any recursive code: nesting depth on the raw text,
 * JSON syntax, forbidden keys (`__proto__`, `constructor`, `prototype`), an object at the top.
 */
import type { IncomingMessage } from 'node:http';
import { ErrorCode } from '../../shared/errors.ts';
import { depthViolation, FORBIDDEN_KEYS, LIMITS } from '../../shared/protocol/index.ts';
import { ApiError } from './errors.ts';

/** Parses `text` as one JSON object; throws {@link ApiError} (400) saying why not. */
export function parseJsonObject(text: string, maxBytes: number): Record<string, unknown> {
  if (Buffer.byteLength(text, 'utf8') > maxBytes)
    throw new ApiError(
      413,
      ErrorCode.STREAM_TOO_LARGE,
      `The body must be at most ${maxBytes} bytes`,
    );
  const deep = depthViolation(text, LIMITS.maxDepth);
  if (deep !== -1)
    throw new ApiError(
      400,
      ErrorCode.STREAM_TOO_DEEP,
      `Nesting must be at most ${LIMITS.maxDepth} deep, exceeded at character ${deep}`,
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ApiError(
      400,
      ErrorCode.STREAM_BAD_JSON,
      `Not JSON (${err instanceof Error ? err.message.slice(0, 120) : 'syntax error'})`,
    );
  }
  const stack: unknown[] = [value];
  for (let v = stack.pop(); v !== undefined; v = stack.pop()) {
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) {
      stack.push(...(v as unknown[]));
      continue;
    }
    for (const k of Object.keys(v)) {
      if (FORBIDDEN_KEYS.has(k))
        throw new ApiError(
          400,
          ErrorCode.STREAM_FORBIDDEN_KEY,
          `The key ${JSON.stringify(k)} is not allowed`,
        );
      stack.push((v as Record<string, unknown>)[k]);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ApiError(400, ErrorCode.COORD_BAD_REQUEST, 'The body must be a JSON object');
  return value as Record<string, unknown>;
}

/** Reads the body (at most `maxBytes`) and parses it as one JSON object. */
export async function readJsonBody(
  req: IncomingMessage,
  maxBytes: number,
): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type))
    throw new ApiError(415, ErrorCode.COORD_BAD_REQUEST, 'Send the body as application/json');
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > maxBytes)
    throw new ApiError(
      413,
      ErrorCode.STREAM_TOO_LARGE,
      `The body must be at most ${maxBytes} bytes`,
    );
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes)
      throw new ApiError(
        413,
        ErrorCode.STREAM_TOO_LARGE,
        `The body must be at most ${maxBytes} bytes`,
      );
    chunks.push(chunk);
  }
  return parseJsonObject(Buffer.concat(chunks).toString('utf8'), maxBytes);
}
