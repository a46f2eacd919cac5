/**
 * ATA attribute table → normalized attributes, with vendor-packed raw values decoded so they
 * do not raise false alarms (Scrutiny #522, #748: Seagate 188 = 4295032833 is one timeout;
 * Scrutiny #255: Seagate 1/7 are error *rates* with the operation count in the low bits).
 */
import { arrayAt, at, boolAt, countAt, intAt, stringAt, type Count } from './json-access.ts';
import type { JsonValue } from './lossless-json.ts';
import type { AtaAttribute, SmartAttributes } from './smart-types.ts';

/** ATA attribute ids the model reads (Backblaze's five plus CRC, temperature, hours). */
export const AtaId = {
  RAW_READ_ERROR_RATE: 1,
  REALLOCATED_SECTORS: 5,
  SEEK_ERROR_RATE: 7,
  POWER_ON_HOURS: 9,
  REPORTED_UNCORRECT: 187,
  COMMAND_TIMEOUT: 188,
  TEMPERATURE: 194,
  HARDWARE_ECC_RECOVERED: 195,
  CURRENT_PENDING: 197,
  OFFLINE_UNCORRECTABLE: 198,
  UDMA_CRC_ERRORS: 199,
} as const;

const SEAGATE_RATE_IDS: readonly number[] = [
  AtaId.RAW_READ_ERROR_RATE,
  AtaId.SEEK_ERROR_RATE,
  AtaId.HARDWARE_ECC_RECOVERED,
];

/** Reads `ata_smart_attributes.table`, decoding packed raw values. */
export function parseAtaTable(doc: JsonValue, seagate: boolean): AtaAttribute[] {
  const rows = arrayAt(doc, 'ata_smart_attributes', 'table') ?? [];
  const out: AtaAttribute[] = [];
  for (const row of rows) {
    const id = intAt(row, 'id');
    if (id === undefined) continue;
    const raw = countAt(row, 'raw', 'value');
    const rawString = stringAt(row, 'raw', 'string');
    const wf = stringAt(row, 'when_failed');
    const decoded = decodeRaw(id, raw, rawString, seagate);
    out.push({
      id,
      name: stringAt(row, 'name') ?? `Attribute_${id}`,
      ...optional('value', intAt(row, 'value')),
      ...optional('worst', intAt(row, 'worst')),
      ...optional('thresh', intAt(row, 'thresh')),
      whenFailed: wf === 'now' || wf === 'past' ? wf : '',
      prefailure: boolAt(row, 'flags', 'prefailure') ?? false,
      ...optional('raw', raw),
      ...optional('rawString', rawString),
      ...(decoded === undefined ? {} : { decoded: decoded.value, decodedHow: decoded.how }),
    });
  }
  return out;
}

/** The normalized ATA attributes from the table and the top-level convenience fields. */
export function ataAttributes(doc: JsonValue, table: readonly AtaAttribute[]): SmartAttributes {
  const byId = new Map(table.map((a) => [a.id, a]));
  const raw = (id: number): Count | undefined => {
    const a = byId.get(id);
    return a?.decoded ?? a?.raw;
  };
  const out: SmartAttributes = {};
  set(out, 'reallocatedSectors', raw(AtaId.REALLOCATED_SECTORS));
  set(out, 'reportedUncorrect', raw(AtaId.REPORTED_UNCORRECT));
  set(out, 'commandTimeouts', raw(AtaId.COMMAND_TIMEOUT));
  set(out, 'pendingSectors', raw(AtaId.CURRENT_PENDING));
  set(out, 'offlineUncorrectable', raw(AtaId.OFFLINE_UNCORRECTABLE));
  set(out, 'crcErrors', raw(AtaId.UDMA_CRC_ERRORS));
  const temp = byId.get(AtaId.TEMPERATURE)?.raw;
  // 194's raw packs min/max into higher bytes; the current value is the low byte.
  if (temp !== undefined) set(out, 'temperatureC', Number(BigInt(temp) & 0xffn));
  set(out, 'powerOnHours', byId.get(AtaId.POWER_ON_HOURS)?.raw);
  const errors =
    intAt(doc, 'ata_smart_error_log', 'extended', 'count') ??
    intAt(doc, 'ata_smart_error_log', 'summary', 'count');
  set(out, 'ataErrorLogCount', errors);
  return out;
}

/**
 * Attribute 188 (Command_Timeout): Seagate packs three 16-bit counters into the 48-bit raw
 * value (smartmontools drivedb shows them as "a b c"). We take the largest word, the total.
 * A plain count is returned unchanged; a raw value of 2^32 or more is always packed (no disk
 * logs four billion timeouts).
 */
export function decodeCommandTimeout(
  raw: Count | undefined,
  rawString: string | undefined,
): { value: Count; how: string } | undefined {
  const words = /^\s*(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(rawString ?? '');
  if (words !== null) {
    const value = Math.max(Number(words[1]), Number(words[2]), Number(words[3]));
    return { value, how: `three counters "${rawString?.trim() ?? ''}": largest taken` };
  }
  if (raw === undefined || BigInt(raw) < 0x1_0000_0000n) return undefined;
  const r = BigInt(raw);
  const w = [(r >> 32n) & 0xffffn, (r >> 16n) & 0xffffn, r & 0xffffn].map(Number);
  return {
    value: Math.max(...w),
    how: `raw ${r} is three 16-bit counters ${w.join(' ')}: largest taken`,
  };
}

/**
 * Seagate attributes 1, 7 and 195 are rates: bits 32–47 count errors, bits 0–31 count
 * operations. A raw 1/7 of millions on a healthy Seagate is normal.
 */
export function decodeSeagateRate(
  raw: Count | undefined,
): { value: Count; how: string } | undefined {
  if (raw === undefined) return undefined;
  const r = BigInt(raw);
  const errors = Number((r >> 32n) & 0xffffn);
  return {
    value: errors,
    how: `Seagate rate: ${errors} errors in ${Number(r & 0xffffffffn)} operations`,
  };
}

function decodeRaw(
  id: number,
  raw: Count | undefined,
  rawString: string | undefined,
  seagate: boolean,
): { value: Count; how: string } | undefined {
  if (id === AtaId.COMMAND_TIMEOUT) return decodeCommandTimeout(raw, rawString);
  if (seagate && SEAGATE_RATE_IDS.includes(id)) return decodeSeagateRate(raw);
  return undefined;
}

/** True for Seagate drives (drivedb family, or model numbers such as ST4000NM0033). */
export function isSeagate(doc: JsonValue): boolean {
  const family = stringAt(doc, 'model_family') ?? '';
  const model = stringAt(doc, 'model_name') ?? stringAt(at(doc, 'scsi_vendor')) ?? '';
  return /seagate/i.test(family) || /^(ST\d|seagate)/i.test(model);
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function set<K extends keyof SmartAttributes>(
  out: SmartAttributes,
  key: K,
  value: SmartAttributes[K] | undefined,
): void {
  if (value !== undefined) out[key] = value;
}
