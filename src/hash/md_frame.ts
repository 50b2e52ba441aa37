/**
 * The frame MD5, SHA-1, SHA-256 and SHA-512/256 share (the Merkle–Damgård construction): the
 * message's whole blocks compressed in place, then a tail with the padding of RFC 1321 §3.1-§3.2
 * and FIPS 180-4 §5.1: a 1 bit, zeros, and the message length in bits in the block's last 8
 * bytes (16 for 128-byte blocks, whose upper 8 stay zero for any message that fits in memory);
 * big-endian, or little-endian for MD5.
 *
 * @module
 */

/**
 * Runs `compress` over every block of `data` and of its padded tail, in order.
 *
 * @param data The message.
 * @param blockSize 64 (MD5, SHA-1, SHA-256) or 128 (SHA-512/256).
 * @param littleEndian Whether the length is written low byte first (MD5).
 * @param compress Takes one block at `offset` of `bytes` into the hash state.
 * @example
 * ```ts
 * import { _compressAll } from "./md_frame.ts";
 * import assert from "node:assert/strict";
 *
 * const blocks: number[][] = [];
 * _compressAll(new Uint8Array([0x61, 0x62, 0x63]), 64, false, (bytes, offset) => {
 *   blocks.push([...bytes.subarray(offset, offset + 64)]);
 * });
 * assert.equal(blocks.length, 1);
 * assert.deepEqual(blocks[0].slice(0, 4), [0x61, 0x62, 0x63, 0x80]);
 * assert.equal(blocks[0][63], 24); // 3 bytes = 24 bits
 * ```
 */
export function _compressAll(
  data: Uint8Array,
  blockSize: 64 | 128,
  littleEndian: boolean,
  compress: (bytes: Uint8Array, offset: number) => void,
): void {
  // The whole blocks are read in place; only the tail is copied, to append the padding.
  const whole = data.length - (data.length % blockSize);
  for (let offset = 0; offset < whole; offset += blockSize) compress(data, offset);
  const rest = data.length - whole;
  const lengthField = blockSize / 8;
  const tail = new Uint8Array(rest < blockSize - lengthField ? blockSize : 2 * blockSize);
  tail.set(data.subarray(whole));
  tail[rest] = 0x80;
  const view = new DataView(tail.buffer);
  const low = (data.length * 8) >>> 0;
  const high = Math.floor(data.length / 0x20000000); // bits above 2^32
  if (littleEndian) {
    view.setUint32(tail.length - 8, low, true);
    view.setUint32(tail.length - 4, high, true);
  } else {
    view.setUint32(tail.length - 8, high);
    view.setUint32(tail.length - 4, low);
  }
  for (let offset = 0; offset < tail.length; offset += blockSize) compress(tail, offset);
}
