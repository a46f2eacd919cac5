/**
 * The admin CLI's client of the coordinator's API (`virt-ft fleet|vms|snapshot|watch`): the
 * common options (`--coordinator`, `--token` or `VIRT_FT_TOKEN`, `--ca`, `--json`), GET and
 * POST with JSON, and the live tail's WebSocket. A refusal becomes one error with the API's
 * code and message.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Command } from 'commander';
import { Option } from 'commander';
import WebSocket from 'ws';
import { AgentError, ErrorCode } from '../shared/errors.ts';

/** The coordinator's default address (its `api.listen` default). */
export const DEFAULT_COORDINATOR = 'http://127.0.0.1:7440';

/** Options every admin command takes. */
export interface AdminOptions {
  readonly coordinator?: string;
  readonly token?: string;
  readonly ca?: string;
  readonly json?: boolean;
}

/** Adds the common options to `cmd`. */
export function withAdminOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--coordinator <url>', 'the coordinator API')
        .env('VIRT_FT_COORDINATOR')
        .default(DEFAULT_COORDINATOR),
    )
    .addOption(
      new Option('--token <token>', 'API token (better: the environment)').env('VIRT_FT_TOKEN'),
    )
    .addOption(new Option('--ca <file>', "CA certificate (PEM) of the coordinator's TLS"))
    .addOption(new Option('--json', 'print JSON'));
}

/** A resolved connection to the API. */
export interface Admin {
  readonly base: URL;
  readonly token: string;
  readonly ca: Buffer | undefined;
}

function clientError(message: string, cause?: unknown): AgentError {
  return new AgentError(ErrorCode.COORD_CLIENT, message, { cause });
}

/** Checks the options: a usable URL and a token. */
export function resolveAdmin(o: AdminOptions): Admin {
  let base: URL;
  try {
    base = new URL(o.coordinator ?? DEFAULT_COORDINATOR);
  } catch {
    throw clientError(`--coordinator must be a URL, got ${JSON.stringify(o.coordinator)}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw clientError(`--coordinator must be http(s)://HOST:PORT, got ${base.href}`);
  if (!o.token) throw clientError('no token: pass --token or set VIRT_FT_TOKEN');
  let ca: Buffer | undefined;
  if (o.ca !== undefined) {
    try {
      ca = readFileSync(o.ca);
    } catch (err) {
      throw clientError(`cannot read --ca ${o.ca}`, err);
    }
  }
  return { base, token: o.token, ca };
}

/** Sends a request; resolves with the parsed JSON of a 2xx answer, throws the API's error otherwise. */
export function request(
  a: Admin,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  timeoutMs = 600_000,
): Promise<Record<string, unknown>> {
  const url = new URL(path, a.base);
  const data = body === undefined ? undefined : JSON.stringify(body);
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      url,
      {
        method,
        timeout: timeoutMs,
        headers: {
          authorization: `Bearer ${a.token}`,
          accept: 'application/json',
          ...(data === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }),
        },
        ...(a.ca === undefined ? {} : { ca: a.ca }),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let json: Record<string, unknown>;
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            reject(
              clientError(`${url.origin} answered HTTP ${res.statusCode ?? '?'} without JSON`),
            );
            return;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(json);
          else reject(apiError(status, json));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => {
      reject(clientError(`cannot reach the coordinator at ${url.origin}: ${err.message}`));
    });
    req.end(data);
  });
}

/** The API's error body as one error (code kept when it is one of ours). */
export function apiError(status: number, json: Record<string, unknown>): AgentError {
  const code = typeof json['code'] === 'string' ? json['code'] : ErrorCode.COORD_CLIENT;
  const known = (Object.values(ErrorCode) as string[]).includes(code);
  const message = typeof json['message'] === 'string' ? json['message'] : 'no message';
  const e = new AgentError(
    known ? (code as ErrorCode) : ErrorCode.COORD_CLIENT,
    `${code} (HTTP ${status}): ${message}`,
  );
  return e;
}

/**
 * Opens the live tail with `query`; resolves once open, rejects with the API's refusal.
 * `onMessage` is attached before the upgrade completes: the `hello` may come in the same read.
 */
export function openWatch(
  a: Admin,
  query: Record<string, string>,
  onMessage: (text: string) => void,
): Promise<WebSocket> {
  const url = new URL('/v1/watch', a.base);
  url.protocol = a.base.protocol === 'https:' ? 'wss:' : 'ws:';
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const ws = new WebSocket(url, {
    headers: { authorization: `Bearer ${a.token}` },
    perMessageDeflate: false,
    followRedirects: false,
    handshakeTimeout: 10_000,
    maxPayload: 16 * 1024 * 1024,
    ...(a.ca === undefined ? {} : { ca: a.ca }),
  });
  ws.on('message', (data: Buffer) => {
    onMessage(data.toString('utf8'));
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      resolve(ws);
    });
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let json: Record<string, unknown>;
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          json = { message: text.slice(0, 200) };
        }
        reject(apiError(res.statusCode ?? 0, json));
      });
    });
    ws.once('error', (err) => {
      reject(clientError(`cannot reach the coordinator at ${url.origin}: ${err.message}`));
    });
  });
}
