import { HEADER_BYTES, LEN_WORD_BYTES, MessageStatus, PROGRAM_VERSION } from './constants.ts';

/** virNetMessageHeader: the six words after the length word. */
export interface Header {
  readonly prog: number;
  readonly vers: number;
  readonly proc: number;
  readonly type: number;
  readonly serial: number;
  readonly status: number;
}

/** Reads the header of a whole frame (length word included). */
export function decodeHeader(frame: Buffer): Header {
  const o = LEN_WORD_BYTES;
  return {
    prog: frame.readUInt32BE(o),
    vers: frame.readUInt32BE(o + 4),
    proc: frame.readInt32BE(o + 8),
    type: frame.readInt32BE(o + 12),
    serial: frame.readUInt32BE(o + 16),
    status: frame.readInt32BE(o + 20),
  };
}

/** Offset of the payload inside a whole frame. */
export const PAYLOAD_OFFSET = LEN_WORD_BYTES + HEADER_BYTES;

/**
 * Writes length word and header into the first 28 bytes of `frame`, whose payload is already
 * in place. One Buffer per frame, so one socket write per frame.
 */
export function encodeHeaderInto(
  frame: Buffer,
  h: { prog: number; proc: number; type: number; serial: number; status?: number },
): Buffer {
  frame.writeUInt32BE(frame.length, 0);
  frame.writeUInt32BE(h.prog, 4);
  frame.writeUInt32BE(PROGRAM_VERSION, 8);
  frame.writeInt32BE(h.proc, 12);
  frame.writeInt32BE(h.type, 16);
  frame.writeUInt32BE(h.serial >>> 0, 20);
  frame.writeInt32BE(h.status ?? MessageStatus.OK, 24);
  return frame;
}

/** A frame with no payload (keepalive PING/PONG, void calls). */
export function emptyFrame(h: {
  prog: number;
  proc: number;
  type: number;
  serial: number;
  status?: number;
}): Buffer {
  return encodeHeaderInto(Buffer.alloc(PAYLOAD_OFFSET), h);
}
