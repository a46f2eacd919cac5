import { LibvirtProtocolError } from '../errors.ts';
import { LEN_WORD_BYTES, MAX_FRAME_BYTES, MIN_FRAME_BYTES } from './constants.ts';

/**
 * Splits a byte stream into whole libvirt frames. Accepts chunks of any size, split anywhere.
 *
 * The length word is validated as soon as its 4 bytes are present and before anything is
 * allocated for the body (28 ≤ length ≤ 4 + 32 MiB): a peer that announces 32 MiB and sends
 * 10 bytes costs us 10 bytes. Body bytes are kept as the chunks that arrived and joined once
 * the whole frame is here; a frame that sits inside one chunk is handed out without a copy.
 *
 * After an invalid length the framer is poisoned: the stream cannot be resynchronised.
 */
export class Framer {
  #chunks: Buffer[] = [];
  #buffered = 0;
  #expected = -1;
  #failed: LibvirtProtocolError | null = null;

  /** Bytes held, waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /**
   * Feeds a chunk and returns the whole frames it completed, each including its length word.
   * Throws {@link LibvirtProtocolError} on an invalid length word. The frames are appended to
   * `frames` as they complete, so a caller that passes its own array still has the whole
   * frames that preceded the invalid length word in the same chunk when this throws.
   */
  push(chunk: Buffer, frames: Buffer[] = []): Buffer[] {
    if (this.#failed) throw this.#failed;
    if (chunk.length === 0) return frames;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    for (;;) {
      if (this.#expected < 0) {
        if (this.#buffered < LEN_WORD_BYTES) break;
        const len = this.#peekLength();
        if (len < MIN_FRAME_BYTES || len > MAX_FRAME_BYTES) {
          this.#failed = new LibvirtProtocolError(
            `Cannot decode frame as length word must be between ${MIN_FRAME_BYTES} and ${MAX_FRAME_BYTES}: current value is ${len}`,
          );
          this.#chunks = [];
          this.#buffered = 0;
          throw this.#failed;
        }
        this.#expected = len;
      }
      if (this.#buffered < this.#expected) break;
      frames.push(this.#take(this.#expected));
      this.#expected = -1;
    }
    return frames;
  }

  #peekLength(): number {
    const first = this.#chunks[0];
    if (first && first.length >= LEN_WORD_BYTES) return first.readUInt32BE(0);
    const head = Buffer.alloc(LEN_WORD_BYTES);
    let got = 0;
    for (const c of this.#chunks) {
      const n = Math.min(c.length, LEN_WORD_BYTES - got);
      c.copy(head, got, 0, n);
      got += n;
      if (got === LEN_WORD_BYTES) break;
    }
    return head.readUInt32BE(0);
  }

  #take(n: number): Buffer {
    const first = this.#chunks[0];
    if (first === undefined) throw new LibvirtProtocolError('Framer has no buffered bytes');
    this.#buffered -= n;
    if (first.length >= n) {
      const frame = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return frame;
    }
    const frame = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const c = this.#chunks[0];
      if (c === undefined) throw new LibvirtProtocolError('Framer ran out of bytes');
      const k = Math.min(c.length, n - got);
      c.copy(frame, got, 0, k);
      got += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    return frame;
  }
}
