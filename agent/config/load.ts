import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { AgentError, ErrorCode } from '../../shared/errors.ts';
import { AgentConfigSchema } from './schema.ts';
import type { AgentConfig } from './schema.ts';

/** Every problem in a config file, each with its path, as one error (exit 78). */
export class ConfigError extends AgentError {
  readonly problems: readonly string[];
  readonly exitCode = 78;
  constructor(file: string, problems: readonly string[]) {
    super(
      ErrorCode.CONFIG_INVALID,
      `invalid configuration ${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = problems;
  }
}

/**
 * Removes `//` and `/* *\/` comments outside strings, so the config may be commented (JSONC).
 * Line structure is kept, so JSON.parse positions still point at the right line.
 */
export function stripJsonComments(text: string): string {
  let out = '';
  let i = 0;
  let inString = false;
  while (i < text.length) {
    const c = text[i] ?? '';
    const n = text[i + 1] ?? '';
    if (inString) {
      out += c;
      if (c === '\\') {
        out += n;
        i += 2;
        continue;
      }
      if (c === '"') inString = false;
      i++;
    } else if (c === '"') {
      inString = true;
      out += c;
      i++;
    } else if (c === '/' && n === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && n === '*') {
      i += 2;
      while (i < text.length && !(text[i] === '*' && text[i + 1] === '/')) {
        if (text[i] === '\n') out += '\n';
        i++;
      }
      i += 2;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function lineOf(text: string, message: string): string {
  const m = /position (\d+)/.exec(message);
  if (!m) return message;
  const pos = Number(m[1]);
  const line = text.slice(0, pos).split('\n').length;
  return `${message} (line ${line})`;
}

/**
 * Validates an already-parsed config object against `schema`; throws {@link ConfigError}
 * listing every problem with its path. The result is deeply frozen.
 */
export function validateWith<T>(schema: z.ZodType<T>, value: unknown, source: string): T {
  const r = schema.safeParse(value);
  if (r.success) return deepFreeze(r.data);
  const problems = r.error.issues.map((i) => {
    const path = i.path.length ? i.path.map(String).join('.') : '(top level)';
    return `${path}: ${i.message}`;
  });
  throw new ConfigError(source, problems);
}

/**
 * Reads a config file (JSON with comments), parses it (a syntax error names its line) and
 * validates it against `schema`: the one loader for the agent's and the coordinator's configs.
 */
export async function loadConfigFile<T>(schema: z.ZodType<T>, file: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  let value: unknown;
  const stripped = stripJsonComments(text);
  try {
    value = JSON.parse(stripped);
  } catch (err) {
    throw new ConfigError(file, [`not valid JSON: ${lineOf(stripped, (err as Error).message)}`]);
  }
  return validateWith(schema, value, file);
}

/** Validates an already-parsed agent config object. */
export function validateConfig(value: unknown, source: string): AgentConfig {
  return validateWith(AgentConfigSchema, value, source);
}

/** Reads, parses and validates the agent's config file; frozen result. */
export function loadConfig(file: string): Promise<AgentConfig> {
  return loadConfigFile(AgentConfigSchema, file);
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
