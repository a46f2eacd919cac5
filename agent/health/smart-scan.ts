/**
 * Pure: `smartctl --scan-open --json` → devices. Several entries may share a name and differ
 * by type (MegaRAID: `/dev/bus/6` with `megaraid,8`, `megaraid,9`, …), so a device is the pair
 * (name, type). smartctl prints no `devices` key at all when it finds nothing.
 */
import { arrayAt, stringAt } from './json-access.ts';
import type { JsonValue } from './lossless-json.ts';

/** One device to read: pass `type` back to smartctl as `--device=TYPE`. */
export interface SmartDevice {
  readonly name: string;
  readonly type?: string;
  readonly protocol?: string;
  /** smartctl's label, e.g. `/dev/bus/6 [megaraid_disk_08]`. */
  readonly infoName?: string;
}

/** Devices from a scan document; entries without a name are skipped. */
export function parseScan(doc: JsonValue): SmartDevice[] {
  const out: SmartDevice[] = [];
  const seen = new Set<string>();
  for (const d of arrayAt(doc, 'devices') ?? []) {
    const name = stringAt(d, 'name');
    if (name === undefined) continue;
    const type = stringAt(d, 'type');
    const id = deviceId({ name, ...(type === undefined ? {} : { type }) });
    if (seen.has(id)) continue;
    seen.add(id);
    const protocol = stringAt(d, 'protocol');
    const infoName = stringAt(d, 'info_name');
    out.push({
      name,
      ...(type === undefined ? {} : { type }),
      ...(protocol === undefined ? {} : { protocol }),
      ...(infoName === undefined ? {} : { infoName }),
    });
  }
  return out;
}

/** `name` or `name#type`: the key of a device for rate limiting and de-duplication. */
export function deviceId(d: { readonly name: string; readonly type?: string }): string {
  return d.type === undefined ? d.name : `${d.name}#${d.type}`;
}

/** True when `doc` is a scan result rather than a device reading. */
export function isScanDocument(doc: JsonValue): boolean {
  const argv = arrayAt(doc, 'smartctl', 'argv') ?? [];
  return (
    arrayAt(doc, 'devices') !== undefined || argv.some((a) => a === '--scan' || a === '--scan-open')
  );
}
