/**
 * smartctl's exit status is a bitmask of facts (smartctl(8) "RETURN VALUES"), also copied to
 * `smartctl.exit_status` in JSON. Bits 0–2 say the tool could not do its job; bits 3–7 are
 * findings about the disk. Non-zero is therefore not "smartctl failed".
 */

/** Bit values, named after what they say. */
export const SmartctlExitBit = {
  /** Bit 0: the command line did not parse (also: unknown USB bridge, unknown device type). */
  COMMAND_LINE: 0x01,
  /** Bit 1: the device could not be opened, or it is in a low-power mode (`--nocheck`). */
  DEVICE_OPEN: 0x02,
  /** Bit 2: a SMART or other ATA command to the disk failed, or a checksum error. */
  SMART_COMMAND_FAILED: 0x04,
  /** Bit 3: SMART status check returned "DISK FAILING". */
  DISK_FAILING: 0x08,
  /** Bit 4: prefail attributes are at or below their threshold. */
  PREFAIL_AT_THRESHOLD: 0x10,
  /** Bit 5: some attributes were at or below threshold in the past. */
  THRESHOLD_IN_PAST: 0x20,
  /** Bit 6: the device error log has records. */
  ERROR_LOG: 0x40,
  /** Bit 7: the self-test log has errors. */
  SELF_TEST_ERRORS: 0x80,
} as const;
/** The name of one exit-status bit. */
export type SmartctlExitBitName = keyof typeof SmartctlExitBit;

/** What each bit means, for reasons and the text report. */
export const EXIT_BIT_MEANING: Readonly<Record<SmartctlExitBitName, string>> = {
  COMMAND_LINE: 'command line did not parse or the device type is not recognized',
  DEVICE_OPEN: 'device open failed or the device is in a low-power mode',
  SMART_COMMAND_FAILED: 'a SMART or ATA command failed or a checksum was wrong',
  DISK_FAILING: 'SMART status check returned "DISK FAILING"',
  PREFAIL_AT_THRESHOLD: 'prefail attributes are at or below threshold',
  THRESHOLD_IN_PAST: 'some attributes were at or below threshold in the past',
  ERROR_LOG: 'the device error log contains records',
  SELF_TEST_ERRORS: 'the self-test log contains errors',
};

/** The decoded status: the raw value and the names of the bits that are set. */
export interface SmartctlExit {
  readonly status: number;
  readonly bits: readonly SmartctlExitBitName[];
  /** Bits 0–1: smartctl produced no usable reading of the disk. */
  readonly toolFailed: boolean;
}

/** Decodes an exit status (0–255); other values are kept with no bits. */
export function decodeExitStatus(status: number): SmartctlExit {
  const bits: SmartctlExitBitName[] = [];
  if (Number.isInteger(status) && status >= 0 && status <= 255) {
    for (const [name, bit] of Object.entries(SmartctlExitBit) as [SmartctlExitBitName, number][]) {
      if ((status & bit) !== 0) bits.push(name);
    }
  }
  return {
    status,
    bits,
    toolFailed: bits.includes('COMMAND_LINE') || bits.includes('DEVICE_OPEN'),
  };
}

/** True when `bit` is set in `exit`. */
export function hasBit(exit: SmartctlExit, bit: SmartctlExitBitName): boolean {
  return exit.bits.includes(bit);
}

/** `"8 (DISK_FAILING)"`-style text. */
export function describeExit(exit: SmartctlExit): string {
  return exit.bits.length === 0 ? String(exit.status) : `${exit.status} (${exit.bits.join(', ')})`;
}
