import { Option } from 'commander';
import { LibvirtClient } from '../libvirt/index.ts';
import type { OpenOptions } from '../libvirt/index.ts';

export const DEFAULT_URI = 'qemu:///system';

/** `--connect URI`, as virsh spells it. */
export function connectOption(): Option {
  return new Option('-c, --connect <uri>', 'libvirt URI').default(DEFAULT_URI);
}

/** `--timeout MS`: the deadline of each libvirt call. */
export function timeoutOption(): Option {
  return new Option('--timeout <ms>', 'deadline of each libvirt call in ms')
    .default(30_000)
    .argParser((v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0)
        throw new Error(`--timeout must be a positive integer, got ${v}`);
      return n;
    });
}

/** Opens a client for a command; the error, if any, is already one clear line. */
export function openClient(uri: string, extra: Partial<OpenOptions> = {}): Promise<LibvirtClient> {
  return LibvirtClient.connect({ uri, ...extra });
}
