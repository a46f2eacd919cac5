/**
 * The shape of the health history file (`health-history.json` in the state directory),
 * validated on load: a file written by an older or newer agent, or damaged, is replaced by an
 * empty history rather than trusted.
 */
import { z } from 'zod';

import { SmartctlExitBit, type SmartctlExitBitName } from './smart-exit.ts';
import type { SmartReading } from './smart-types.ts';

const count = z.union([z.number().int(), z.bigint()]);
const opt = <T extends z.ZodType>(t: T) => t.exactOptional();

const sample = z.tuple([z.number(), z.number()]).readonly();

/** One counter series (see counter-series.ts). */
export const CounterStateSchema = z.object({
  lastRaw: z.number().int().nonnegative(),
  offset: z.number().int().nonnegative(),
  lastAt: z.number(),
  samples: z.array(sample).readonly(),
});

const unitSchema = z.object({
  ce: CounterStateSchema.nullable(),
  ue: CounterStateSchema.nullable(),
  seenAt: z.number(),
});

const bitNames = Object.keys(SmartctlExitBit) as [SmartctlExitBitName, ...SmartctlExitBitName[]];

const readingSchema = z.object({
  source: z.string(),
  state: z.enum(['ok', 'standby', 'unsupported', 'error']),
  identity: z.object({
    key: z.string(),
    device: z.string(),
    type: opt(z.string()),
    protocol: z.enum(['ATA', 'NVMe', 'SCSI', 'unknown']),
    model: opt(z.string()),
    family: opt(z.string()),
    serial: opt(z.string()),
    wwn: opt(z.string()),
    firmware: opt(z.string()),
    capacityBytes: opt(count),
  }),
  exit: z.object({
    status: z.number().int(),
    bits: z.array(z.enum(bitNames)).readonly(),
    toolFailed: z.boolean(),
  }),
  messages: z.array(z.object({ text: z.string(), severity: z.string() })).readonly(),
  attributes: z.object({
    smartPassed: opt(z.boolean()),
    temperatureC: opt(z.number()),
    powerOnHours: opt(count),
    reallocatedSectors: opt(count),
    pendingSectors: opt(count),
    offlineUncorrectable: opt(count),
    reportedUncorrect: opt(count),
    commandTimeouts: opt(count),
    crcErrors: opt(count),
    ataErrorLogCount: opt(z.number()),
    nvmeCriticalWarning: opt(z.number().int()),
    mediaErrors: opt(count),
    percentageUsed: opt(z.number()),
    availableSpare: opt(z.number()),
    availableSpareThreshold: opt(z.number()),
    nvmeErrorLogEntries: opt(count),
    unsafeShutdowns: opt(count),
    scsiGrownDefects: opt(count),
    scsiUncorrectedErrors: opt(count),
  }),
  ataAttributes: z
    .array(
      z.object({
        id: z.number().int(),
        name: z.string(),
        value: opt(z.number()),
        worst: opt(z.number()),
        thresh: opt(z.number()),
        whenFailed: z.enum(['', 'now', 'past']),
        prefailure: z.boolean(),
        raw: opt(count),
        rawString: opt(z.string()),
        decoded: opt(count),
        decodedHow: opt(z.string()),
      }),
    )
    .max(256)
    .readonly(),
  smartctlVersion: opt(z.string()),
  requested: opt(z.object({ name: z.string(), type: opt(z.string()) })),
});

/** Version 1 of the history file. */
export const HistoryFileSchema = z.object({
  version: z.literal(1),
  savedAt: z.number(),
  edac: z.object({
    controllers: z.record(z.string(), z.object({ ssr: z.number().nullable(), at: z.number() })),
    units: z.record(z.string(), unitSchema),
  }),
  smart: z.object({
    disks: z.record(z.string(), z.object({ at: z.number(), reading: readingSchema })),
    /** Device path (`/dev/sda#sat`) → disk key, to find a sleeping disk's last reading. */
    paths: z.record(z.string(), z.string()),
  }),
});
/** A validated history file. */
export type HistoryFile = z.infer<typeof HistoryFileSchema>;

/** The persisted reading, typed as the rest of the code sees it. */
export function asReading(r: HistoryFile['smart']['disks'][string]['reading']): SmartReading {
  return r;
}

/** A new, empty history. */
export function emptyHistory(): HistoryFile {
  return {
    version: 1,
    savedAt: 0,
    edac: { controllers: {}, units: {} },
    smart: { disks: {}, paths: {} },
  };
}
