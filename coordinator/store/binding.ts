/**
 * Loads better-sqlite3 (a native addon, an optional dependency: only the coordinator needs it,
 * the agent never loads it; ADR 0030) and types the little of it the store uses, so no
 * `@types` package is needed. A missing or mis-built addon is one clear error.
 */
import { createRequire } from 'node:module';
import { AgentError, ErrorCode } from '../../shared/errors.ts';

/** What `run` reports. */
export interface RunResult {
  readonly changes: number;
  readonly lastInsertRowid: number | bigint;
}

/** A prepared statement (parameters bind by position or by `@name`). */
export interface Statement {
  run(...params: unknown[]): RunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

/** A better-sqlite3 database: synchronous calls. */
export interface Database {
  prepare(sql: string): Statement;
  exec(sql: string): void;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  close(): void;
}

type DatabaseConstructor = new (
  file: string,
  options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number },
) => Database;

let ctor: DatabaseConstructor | null = null;

/** Opens `file` with better-sqlite3; throws VFT_ERR_COORD_STORE when the addon cannot load. */
export function openDatabase(file: string, options: { readonly?: boolean } = {}): Database {
  if (ctor === null) {
    try {
      ctor = createRequire(import.meta.url)('better-sqlite3') as DatabaseConstructor;
    } catch (err) {
      throw new AgentError(
        ErrorCode.COORD_STORE,
        `Cannot load better-sqlite3 (node ${process.version}, ABI ${process.versions.modules}): ` +
          'run `npm rebuild better-sqlite3` for this Node version, or set store.kind to "memory"',
        { cause: err },
      );
    }
  }
  try {
    return new ctor(file, { timeout: 5_000, ...options });
  } catch (err) {
    throw new AgentError(ErrorCode.COORD_STORE, `Cannot open the event database ${file}`, {
      cause: err,
    });
  }
}
