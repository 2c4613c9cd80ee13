/**
 * Capped gunzip: a gzip bomb becomes a `TooLarge` status, corrupt data an `Undecodable` one; neither throws.
 */
import { gunzipSync } from 'node:zlib';
import { RejectReason } from '../core/types.js';
import { GZIP_ID1, GZIP_ID2 } from './constants.js';

/** True when `bytes[start..end)` starts with the gzip magic 1F 8B. */
export function hasGzipMagic(bytes: Uint8Array, start: number, end: number): boolean {
  return end - start >= 2 && bytes[start] === GZIP_ID1 && bytes[start + 1] === GZIP_ID2;
}

/** Outcome of `GzipDecoder.decode`: 0 when `output` holds the result, otherwise the reject reason. */
export type GunzipStatus = 0 | typeof RejectReason.TooLarge | typeof RejectReason.Undecodable;

const EMPTY = Buffer.alloc(0);

/**
 * Gunzips with a hard cap on the output size, decided at construction.
 *
 * @example
 * const gzip = new GzipDecoder(16 * 1024 * 1024);
 * if (gzip.decode(buf, 0, n) === 0) use(gzip.output); else reject(gzip.errorDetail);
 */
export class GzipDecoder {
  /** The decompressed bytes of the last successful `decode()`; a new buffer each time (zlib allocates it). */
  public output: Buffer = EMPTY;
  /** Why the last failed `decode()` failed, for the reject detail. */
  public errorDetail = '';
  private readonly options: { maxOutputLength: number };

  public constructor(public readonly maxDecompressedBytes: number) {
    // One options object for every call: zlib reads it, never keeps it.
    this.options = { maxOutputLength: maxDecompressedBytes };
  }

  /**
   * `maxBytes` (at most the constructor's cap) lowers the cap for this call: what is left of a record's
   * or a batch's decompression budget.
   */
  public decode(bytes: Buffer, start: number, end: number, maxBytes = this.maxDecompressedBytes): GunzipStatus {
    const cap = Math.min(maxBytes, this.maxDecompressedBytes);
    this.options.maxOutputLength = Math.max(1, cap);
    try {
      this.output = gunzipSync(bytes.subarray(start, end), this.options);
      this.errorDetail = '';
      return 0;
    } catch (error) {
      this.output = EMPTY;
      const code = (error as { code?: unknown }).code;
      if (error instanceof RangeError && code === 'ERR_BUFFER_TOO_LARGE') {
        this.errorDetail = `gzip data expands beyond the ${cap} bytes left of the ${this.maxDecompressedBytes}-byte cap (maxDecompressedBytes)`;
        return RejectReason.TooLarge;
      }
      this.errorDetail = `corrupt gzip data: ${typeof code === 'string' ? `${code}: ` : ''}${(error as Error).message}`;
      return RejectReason.Undecodable;
    }
  }
}
