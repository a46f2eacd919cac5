/**
 * Pure: one smartctl `--json` document → {@link SmartReading}. ATA, NVMe and SCSI land in the
 * same attribute model; what a protocol doesn't have stays absent.
 */
import {
  addCounts,
  arrayAt,
  at,
  boolAt,
  countAt,
  intAt,
  objectAt,
  stringAt,
  type Count,
} from './json-access.ts';
import { parseJson, type JsonValue } from './lossless-json.ts';
import { ataAttributes, isSeagate, parseAtaTable } from './smart-ata.ts';
import { decodeExitStatus, hasBit } from './smart-exit.ts';
import type {
  SmartAttributes,
  SmartFailure,
  SmartIdentity,
  SmartProtocol,
  SmartReading,
} from './smart-types.ts';

const LOW_POWER = /Device is in (STANDBY|SLEEP|IDLE\w*) mode/i;

/**
 * Normalizes one document. `source` names where it came from (device or file); `fallback`
 * fills the identity when smartctl printed no `device` section (it doesn't after some errors).
 */
export function parseSmartReading(
  doc: JsonValue,
  source: string,
  fallback: { device?: string; type?: string; exitStatus?: number } = {},
): SmartReading {
  const exit = decodeExitStatus(fallback.exitStatus ?? intAt(doc, 'smartctl', 'exit_status') ?? 0);
  const messages = (arrayAt(doc, 'smartctl', 'messages') ?? []).map((m) => ({
    text: stringAt(m, 'string') ?? '',
    severity: stringAt(m, 'severity') ?? 'information',
  }));
  const identity = parseIdentity(doc, fallback);
  const ataTable = identity.protocol === 'ATA' ? parseAtaTable(doc, isSeagate(doc)) : [];
  const attributes: SmartAttributes = {
    ...commonAttributes(doc),
    ...(identity.protocol === 'ATA' ? ataAttributes(doc, ataTable) : {}),
    ...nvmeAttributes(doc),
    ...scsiAttributes(doc),
  };
  const version = arrayAt(doc, 'smartctl', 'version')
    ?.filter((x) => typeof x === 'number')
    .join('.');
  const hasData =
    attributes.smartPassed !== undefined ||
    ataTable.length > 0 ||
    objectAt(doc, 'nvme_smart_health_information_log') !== undefined ||
    objectAt(doc, 'scsi_error_counter_log') !== undefined ||
    attributes.scsiGrownDefects !== undefined;
  let state: SmartReading['state'];
  if (messages.some((m) => LOW_POWER.test(m.text)) && hasBit(exit, 'DEVICE_OPEN'))
    state = 'standby';
  else if (hasData) state = 'ok';
  else if (exit.toolFailed || messages.some((m) => m.severity === 'error')) state = 'error';
  else state = 'unsupported';
  return {
    source,
    state,
    identity,
    exit,
    messages,
    attributes,
    ataAttributes: ataTable,
    ...(version === undefined ? {} : { smartctlVersion: version }),
  };
}

/**
 * A reading from smartctl's stdout. Output that is not a smartctl JSON document becomes an
 * `error` reading with failure code `bad-output` (and the start of what was printed).
 */
export function readingFromText(
  text: string,
  source: string,
  fallback: { device?: string; type?: string; exitStatus?: number } = {},
): SmartReading {
  let doc: JsonValue;
  try {
    doc = parseJson(text);
  } catch (err) {
    return failedReading(source, fallback, {
      code: 'bad-output',
      message: `smartctl printed output that is not JSON (${err instanceof Error ? err.message : String(err)}): ${JSON.stringify(text.slice(0, 80))}`,
    });
  }
  if (objectAt(doc, 'smartctl') === undefined) {
    return failedReading(source, fallback, {
      code: 'bad-output',
      message: 'the JSON has no "smartctl" section: not smartctl --json output',
    });
  }
  return parseSmartReading(doc, source, fallback);
}

/** A reading for a run that produced no document (timeout, crash, garbage). */
export function failedReading(
  source: string,
  fallback: { device?: string; type?: string; exitStatus?: number },
  failure: SmartFailure,
): SmartReading {
  const device = fallback.device ?? source;
  const type = fallback.type;
  return {
    source,
    state: 'error',
    identity: {
      key: `path:${device}${type === undefined ? '' : `#${type}`}`,
      device,
      protocol: 'unknown',
      ...(type === undefined ? {} : { type }),
    },
    exit: decodeExitStatus(fallback.exitStatus ?? -1),
    messages: [],
    attributes: {},
    ataAttributes: [],
    failure,
  };
}

function parseIdentity(
  doc: JsonValue,
  fallback: { device?: string; type?: string },
): SmartIdentity {
  const device =
    stringAt(doc, 'device', 'name') ?? fallback.device ?? deviceFromArgv(doc) ?? 'unknown';
  const type = stringAt(doc, 'device', 'type') ?? fallback.type;
  const proto = stringAt(doc, 'device', 'protocol');
  const protocol: SmartProtocol =
    proto === 'ATA' || proto === 'NVMe' || proto === 'SCSI' ? proto : 'unknown';
  const model =
    stringAt(doc, 'model_name') ??
    stringAt(doc, 'scsi_model_name') ??
    joinDefined(stringAt(doc, 'scsi_vendor') ?? stringAt(doc, 'vendor'), stringAt(doc, 'product'));
  const serial = stringAt(doc, 'serial_number');
  const wwn = wwnOf(doc);
  const capacity = countAt(doc, 'user_capacity', 'bytes') ?? countAt(doc, 'nvme_total_capacity');
  const key =
    wwn !== undefined
      ? `wwn:${wwn}`
      : serial !== undefined
        ? `serial:${model ?? ''}:${serial}`
        : `path:${device}${type === undefined ? '' : `#${type}`}`;
  const family = stringAt(doc, 'model_family');
  const firmware = stringAt(doc, 'firmware_version') ?? stringAt(doc, 'scsi_revision');
  return {
    key,
    device,
    protocol,
    ...(type === undefined ? {} : { type }),
    ...(model === undefined ? {} : { model }),
    ...(family === undefined ? {} : { family }),
    ...(serial === undefined ? {} : { serial }),
    ...(wwn === undefined ? {} : { wwn }),
    ...(firmware === undefined ? {} : { firmware }),
    ...(capacity === undefined ? {} : { capacityBytes: capacity }),
  };
}

/** NAA WWN as 16 hex digits (like `/dev/disk/by-id/wwn-0x…`), NVMe EUI-64, or SCSI LU id. */
function wwnOf(doc: JsonValue): string | undefined {
  const naa = countAt(doc, 'wwn', 'naa');
  const oui = countAt(doc, 'wwn', 'oui');
  const id = countAt(doc, 'wwn', 'id');
  if (naa !== undefined && oui !== undefined && id !== undefined) {
    const v = (BigInt(naa) << 60n) | (BigInt(oui) << 36n) | BigInt(id);
    return v.toString(16).padStart(16, '0');
  }
  const euiOui = countAt(doc, 'nvme_namespaces', 0, 'eui64', 'oui');
  const euiExt = countAt(doc, 'nvme_namespaces', 0, 'eui64', 'ext_id');
  if (euiOui !== undefined && euiExt !== undefined) {
    const v = (BigInt(euiOui) << 40n) | BigInt(euiExt);
    return `eui.${v.toString(16).padStart(16, '0')}`;
  }
  const lu = stringAt(doc, 'logical_unit_id');
  return lu === undefined ? undefined : lu.replace(/^0x/i, '').toLowerCase();
}

function commonAttributes(doc: JsonValue): SmartAttributes {
  const out: SmartAttributes = {};
  const passed = boolAt(doc, 'smart_status', 'passed');
  if (passed !== undefined) out.smartPassed = passed;
  const temp = intAt(doc, 'temperature', 'current');
  // A RAID volume reports 0 °C; a reading of 0 with no SMART status means "not measured".
  if (temp !== undefined && !(temp === 0 && passed === undefined)) out.temperatureC = temp;
  const hours = countAt(doc, 'power_on_time', 'hours');
  if (hours !== undefined) out.powerOnHours = hours;
  return out;
}

function nvmeAttributes(doc: JsonValue): SmartAttributes {
  const log = objectAt(doc, 'nvme_smart_health_information_log');
  if (log === undefined) return {};
  const out: SmartAttributes = {};
  const cw = intAt(log, 'critical_warning');
  if (cw !== undefined) out.nvmeCriticalWarning = cw;
  const media = countAt(log, 'media_errors');
  if (media !== undefined) out.mediaErrors = media;
  const used = intAt(log, 'percentage_used');
  if (used !== undefined) out.percentageUsed = used;
  const spare = intAt(log, 'available_spare');
  if (spare !== undefined) out.availableSpare = spare;
  const spareThreshold = intAt(log, 'available_spare_threshold');
  if (spareThreshold !== undefined) out.availableSpareThreshold = spareThreshold;
  const entries = countAt(log, 'num_err_log_entries');
  if (entries !== undefined) out.nvmeErrorLogEntries = entries;
  const unsafe = countAt(log, 'unsafe_shutdowns');
  if (unsafe !== undefined) out.unsafeShutdowns = unsafe;
  const hours = countAt(log, 'power_on_hours');
  if (hours !== undefined) out.powerOnHours = hours;
  const temp = intAt(log, 'temperature');
  if (temp !== undefined) out.temperatureC = temp;
  return out;
}

function scsiAttributes(doc: JsonValue): SmartAttributes {
  const out: SmartAttributes = {};
  const grown = countAt(doc, 'scsi_grown_defect_list');
  if (grown !== undefined) out.scsiGrownDefects = grown;
  const log = objectAt(doc, 'scsi_error_counter_log');
  if (log !== undefined) {
    let total: Count | undefined;
    for (const dir of ['read', 'write', 'verify']) {
      const n = countAt(at(log, dir), 'total_uncorrected_errors');
      if (n !== undefined) total = total === undefined ? n : addCounts(total, n);
    }
    if (total !== undefined) out.scsiUncorrectedErrors = total;
  }
  return out;
}

/** The device operand of the recorded command line (after `--`, else the last operand). */
function deviceFromArgv(doc: JsonValue): string | undefined {
  const argv = (arrayAt(doc, 'smartctl', 'argv') ?? []).filter((a) => typeof a === 'string');
  const dashes = argv.indexOf('--');
  if (dashes !== -1) return argv[dashes + 1];
  return argv.slice(1).findLast((a) => a.startsWith('/dev/'));
}

function joinDefined(a: string | undefined, b: string | undefined): string | undefined {
  const parts = [a, b].filter((x): x is string => x !== undefined && x !== '');
  return parts.length === 0 ? undefined : parts.join(' ');
}
