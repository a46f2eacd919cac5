import type { XdrReader } from '../xdr/reader.ts';
import type { XdrWriter } from '../xdr/writer.ts';
import { Program } from '../protocol/constants.ts';

/**
 * One remote procedure: its libvirt name and number, how its `*_args` are encoded and its
 * `*_ret` decoded. Procedures without args or ret leave the codec out.
 */
export interface Procedure<A, R> {
  /** libvirt's name without the REMOTE_PROC_ prefix, e.g. `DOMAIN_GET_STATE`. */
  readonly name: string;
  readonly prog: number;
  readonly proc: number;
  readonly encode: ((w: XdrWriter, args: A) => void) | null;
  readonly decode: ((r: XdrReader) => R) | null;
}

export function defineProcedure<A = undefined, R = undefined>(def: {
  name: string;
  proc: number;
  prog?: number;
  encode?: (w: XdrWriter, args: A) => void;
  decode?: (r: XdrReader) => R;
}): Procedure<A, R> {
  return Object.freeze({
    name: def.name,
    prog: def.prog ?? Program.REMOTE,
    proc: def.proc,
    encode: def.encode ?? null,
    decode: def.decode ?? null,
  });
}
