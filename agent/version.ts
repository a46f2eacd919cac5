import { readFileSync } from 'node:fs';

/** The package version, read from package.json (two levels above dist/agent/cli.js). */
export const VERSION = ((): string => {
  try {
    const pkg: unknown = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    );
    const v = (pkg as { version?: unknown }).version;
    return typeof v === 'string' ? v : 'unknown';
  } catch {
    return 'unknown';
  }
})();
