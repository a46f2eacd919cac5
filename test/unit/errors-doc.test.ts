/** Every error code has a section in docs/errors.md, and no section names a code that is gone. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../shared/errors.ts';
import { LibvirtErrorCode } from '../../agent/libvirt/errors.ts';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const sections = new Set([...doc.matchAll(/^## (VFT_ERR_[A-Z0-9_]+)$/gm)].map((m) => m[1]));
const codes = new Set<string>([...Object.values(ErrorCode), ...Object.values(LibvirtErrorCode)]);

describe('docs/errors.md', () => {
  it('documents every error code', () => {
    assert.deepEqual([...codes].filter((c) => !sections.has(c)).sort(), []);
  });
  it('documents no code that does not exist', () => {
    assert.deepEqual([...sections].filter((s) => s !== undefined && !codes.has(s)).sort(), []);
  });
});
