/**
 * Writes docs/protocol.schema.json from the protocol's zod schemas, or with `--check` exits 1
 * when the committed file differs. Compiled with the rest; run with plain node after `tsc -b`:
 *
 *     node dist/shared/protocol/gen-schema.js [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderProtocolSchema } from './json-schema.ts';

/** docs/protocol.schema.json, from dist/shared/protocol/ (or shared/protocol/ under a TS loader). */
export const SCHEMA_FILE = fileURLToPath(
  new URL(
    import.meta.url.includes('/dist/')
      ? '../../../docs/protocol.schema.json'
      : '../../docs/protocol.schema.json',
    import.meta.url,
  ),
);

function main(argv: readonly string[]): number {
  const want = renderProtocolSchema();
  if (argv.includes('--check')) {
    let have = '';
    try {
      have = readFileSync(SCHEMA_FILE, 'utf8');
    } catch {
      // missing: reported below as a drift
    }
    if (have === want) return 0;
    process.stderr.write(
      `${SCHEMA_FILE} is out of date: run node dist/shared/protocol/gen-schema.js\n`,
    );
    return 1;
  }
  writeFileSync(SCHEMA_FILE, want);
  process.stdout.write(`wrote ${SCHEMA_FILE} (${want.length} bytes)\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = main(process.argv.slice(2));
}
