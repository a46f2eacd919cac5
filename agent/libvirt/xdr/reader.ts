import { LibvirtProtocolError } from '../errors.ts';

/**
 * A cursor over one XDR payload (RFC 4506, big-endian, 4-byte units). Every variable-length
 * read is bounded by the `.x` file's maximum and by the bytes left, so a hostile length can
 * never make it allocate or read beyond the payload. Any violation throws
 * {@link LibvirtProtocolError}, which the connection treats as fatal.
 */
export class XdrReader {
  readonly #buf: Buffer;
  #off: number;

  constructor(buf: Buffer, offset = 0) {
    this.#buf = buf;
    this.#off = offset;
  }

  get offset(): number {
    return this.#off;
  }

  get remaining(): number {
    return this.#buf.length - this.#off;
  }

  #need(n: number, what: string): void {
    if (n > this.#buf.length - this.#off) {
      throw new LibvirtProtocolError(
        `Cannot decode ${what}: needs ${n} bytes at offset ${this.#off}, payload has ${this.#buf.length - this.#off} left`,
      );
    }
  }

  int32(): number {
    this.#need(4, 'int');
    const v = this.#buf.readInt32BE(this.#off);
    this.#off += 4;
    return v;
  }

  uint32(): number {
    this.#need(4, 'unsigned int');
    const v = this.#buf.readUInt32BE(this.#off);
    this.#off += 4;
    return v;
  }

  hyper(): bigint {
    this.#need(8, 'hyper');
    const v = this.#buf.readBigInt64BE(this.#off);
    this.#off += 8;
    return v;
  }

  uhyper(): bigint {
    this.#need(8, 'unsigned hyper');
    const v = this.#buf.readBigUInt64BE(this.#off);
    this.#off += 8;
    return v;
  }

  double(): number {
    this.#need(8, 'double');
    const v = this.#buf.readDoubleBE(this.#off);
    this.#off += 8;
    return v;
  }

  /** XDR bool: an int that must be 0 or 1. */
  bool(): boolean {
    const v = this.int32();
    if (v !== 0 && v !== 1) throw new LibvirtProtocolError(`Cannot decode bool: value is ${v}`);
    return v === 1;
  }

  #length(max: number, what: string): number {
    const len = this.uint32();
    if (len > max) {
      throw new LibvirtProtocolError(`Cannot decode ${what}: length ${len} exceeds maximum ${max}`);
    }
    return len;
  }

  #skipPad(len: number): void {
    const pad = (4 - (len % 4)) % 4;
    if (pad > 0) {
      this.#need(pad, 'padding');
      this.#off += pad;
    }
  }

  /** `string<max>`: length, UTF-8 bytes, padding. */
  string(max: number): string {
    const len = this.#length(max, 'string');
    this.#need(len, 'string body');
    const s = this.#buf.toString('utf8', this.#off, this.#off + len);
    this.#off += len;
    this.#skipPad(len);
    return s;
  }

  /** `opaque<max>`: length, bytes, padding. Returns a copy. */
  opaque(max: number): Buffer {
    const len = this.#length(max, 'opaque');
    return this.fixedOpaque(len);
  }

  /** `opaque[n]`: exactly n bytes and padding, no length. Returns a copy. */
  fixedOpaque(n: number): Buffer {
    this.#need(n, 'opaque body');
    const b = Buffer.from(this.#buf.subarray(this.#off, this.#off + n));
    this.#off += n;
    this.#skipPad(n);
    return b;
  }

  /** `T x<max>`: count, then the elements. Each element takes at least 4 bytes. */
  array<T>(max: number, item: (r: XdrReader) => T): T[] {
    const count = this.#length(max, 'array');
    // Every XDR item is at least 4 bytes: a count larger than the bytes left is a lie.
    this.#need(count * 4, 'array elements');
    const out = new Array<T>(count);
    for (let i = 0; i < count; i++) out[i] = item(this);
    return out;
  }

  /** `T *x`: a 4-byte flag, then T when non-zero. The daemon accepts any non-zero flag. */
  optional<T>(item: (r: XdrReader) => T): T | null {
    const flag = this.uint32();
    return flag === 0 ? null : item(this);
  }

  /** Throws unless the whole payload was consumed. */
  done(what: string): void {
    if (this.#off !== this.#buf.length) {
      throw new LibvirtProtocolError(
        `Cannot decode ${what}: ${this.#buf.length - this.#off} trailing bytes after offset ${this.#off}`,
      );
    }
  }
}
