import { LibvirtError, LibvirtErrorCode } from '../errors.ts';

const PAD = Buffer.alloc(4);

function invalid(message: string): LibvirtError {
  return new LibvirtError(LibvirtErrorCode.INVALID_ARGUMENT, message);
}

/**
 * A growable XDR encoder (RFC 4506). Methods chain. Variable-length items are checked
 * against their `.x` maximum before they are written, so a call with an oversized argument
 * fails locally with a clear error instead of being refused by the daemon.
 */
export class XdrWriter {
  #buf: Buffer;
  #off: number;

  constructor(initialSize = 256, reserve = 0) {
    this.#buf = Buffer.allocUnsafe(Math.max(initialSize, reserve + 16));
    this.#off = reserve;
  }

  get length(): number {
    return this.#off;
  }

  #ensure(n: number): void {
    if (this.#off + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#off + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.#buf.copy(next, 0, 0, this.#off);
    this.#buf = next;
  }

  int32(v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
      throw invalid(`Cannot encode int: ${v} is not a 32-bit signed integer`);
    }
    this.#ensure(4);
    this.#buf.writeInt32BE(v, this.#off);
    this.#off += 4;
    return this;
  }

  uint32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw invalid(`Cannot encode unsigned int: ${v} is not a 32-bit unsigned integer`);
    }
    this.#ensure(4);
    this.#buf.writeUInt32BE(v, this.#off);
    this.#off += 4;
    return this;
  }

  hyper(v: bigint): this {
    this.#ensure(8);
    this.#buf.writeBigInt64BE(BigInt.asIntN(64, v) === v ? v : invalidHyper(v), this.#off);
    this.#off += 8;
    return this;
  }

  uhyper(v: bigint): this {
    this.#ensure(8);
    this.#buf.writeBigUInt64BE(BigInt.asUintN(64, v) === v ? v : invalidHyper(v), this.#off);
    this.#off += 8;
    return this;
  }

  double(v: number): this {
    this.#ensure(8);
    this.#buf.writeDoubleBE(v, this.#off);
    this.#off += 8;
    return this;
  }

  bool(v: boolean): this {
    return this.int32(v ? 1 : 0);
  }

  #pad(len: number): void {
    const pad = (4 - (len % 4)) % 4;
    if (pad > 0) {
      this.#ensure(pad);
      PAD.copy(this.#buf, this.#off, 0, pad);
      this.#off += pad;
    }
  }

  string(s: string, max: number): this {
    const len = Buffer.byteLength(s, 'utf8');
    if (len > max) throw invalid(`Cannot encode string: ${len} bytes exceeds maximum ${max}`);
    this.uint32(len);
    this.#ensure(len);
    this.#buf.write(s, this.#off, len, 'utf8');
    this.#off += len;
    this.#pad(len);
    return this;
  }

  opaque(b: Uint8Array, max: number): this {
    if (b.length > max) {
      throw invalid(`Cannot encode opaque: ${b.length} bytes exceeds maximum ${max}`);
    }
    this.uint32(b.length);
    return this.fixedOpaque(b, b.length);
  }

  fixedOpaque(b: Uint8Array, n: number): this {
    if (b.length !== n) throw invalid(`Cannot encode opaque[${n}]: got ${b.length} bytes`);
    this.#ensure(n);
    this.#buf.set(b, this.#off);
    this.#off += n;
    this.#pad(n);
    return this;
  }

  array<T>(items: readonly T[], max: number, item: (w: this, v: T) => void): this {
    if (items.length > max) {
      throw invalid(`Cannot encode array: ${items.length} elements exceeds maximum ${max}`);
    }
    this.uint32(items.length);
    for (const v of items) item(this, v);
    return this;
  }

  /** `T *x`: writes flag 1 and the value, or flag 0 for null/undefined. */
  optional<T>(v: T | null | undefined, item: (w: this, v: T) => void): this {
    if (v === null || v === undefined) return this.uint32(0);
    this.uint32(1);
    item(this, v);
    return this;
  }

  /** The bytes written so far, sharing memory with the writer. */
  bytes(): Buffer {
    return this.#buf.subarray(0, this.#off);
  }

  /** Writes a big-endian uint32 at an absolute offset (used for the frame length word). */
  patchUint32(offset: number, v: number): void {
    this.#buf.writeUInt32BE(v, offset);
  }
}

function invalidHyper(v: bigint): never {
  throw invalid(`Cannot encode hyper: ${v} does not fit in 64 bits`);
}
