/**
 * WAV files (RIFF WAVE, the Microsoft Multimedia Programming Interface and Data
 * Specifications 1.0, 1991), as the announcements and recordings use them: mono, 8000 Hz,
 * 16-bit linear PCM (format 1) or 8-bit G.711 (format 6 A-law, format 7 µ-law).
 *
 * @module
 */

import { alawDecode, mulawDecode } from "./g711.ts";

/**
 * The largest WAV file read (8 MiB): 524 s of 16-bit PCM at 8000 Hz, 1,048 s of G.711.
 *
 * @example
 * ```ts
 * import { MAX_WAV_BYTES } from "@sipecho/sipecho/media";
 * import assert from "node:assert/strict";
 *
 * assert.equal(Math.floor(MAX_WAV_BYTES / 16000), 524); // seconds of 16-bit PCM
 * ```
 */
export const MAX_WAV_BYTES: number = 8 * 1024 * 1024;

/**
 * A WAV file read by {@linkcode parseWav}.
 *
 * @example
 * ```ts
 * import { parseWav, type Wav, writeWav } from "@sipecho/sipecho/media";
 * import assert from "node:assert/strict";
 *
 * const wav: Wav = parseWav(writeWav(new Int16Array(8000)));
 * assert.equal(wav.samples.length / 8000, 1); // seconds
 * ```
 */
export interface Wav {
  /** How its samples were stored: 16-bit PCM, or G.711 µ-law or A-law. */
  format: "pcm16" | "mulaw" | "alaw";
  /** The samples, 16-bit linear (G.711 decoded). */
  samples: Int16Array;
}

const _FORMATS: Record<number, { format: Wav["format"]; bits: number }> = {
  1: { format: "pcm16", bits: 16 },
  6: { format: "alaw", bits: 8 },
  7: { format: "mulaw", bits: 8 },
};

/**
 * Reads a WAV file: the RIFF header, the `fmt ` chunk (format 1 with 16 bits, or 6 or 7 with 8
 * bits; one channel; 8000 Hz) and the `data` chunk; other chunks are skipped.
 *
 * @param bytes The file.
 * @returns The samples.
 * @throws {SyntaxError} If it is not a RIFF WAVE file with `fmt ` and `data` chunks.
 * @throws {RangeError} If it is larger than {@linkcode MAX_WAV_BYTES}, or its format, channels,
 *   bits or rate are not those above.
 * @example
 * ```ts
 * import { parseWav, writeWav } from "@sipecho/sipecho/media";
 * import assert from "node:assert/strict";
 *
 * const wav = parseWav(writeWav(Int16Array.of(0, 1000, -1000)));
 * assert.deepEqual([wav.format, [...wav.samples]], ["pcm16", [0, 1000, -1000]]);
 * assert.throws(() => parseWav(new TextEncoder().encode("RIFF....AVI ")), SyntaxError);
 * ```
 */
export function parseWav(bytes: Uint8Array): Wav {
  if (bytes.length > MAX_WAV_BYTES) {
    throw new RangeError(`Cannot read WAV: ${bytes.length} bytes, more than ${MAX_WAV_BYTES}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.length < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") {
    throw new SyntaxError("Cannot read WAV: not a RIFF WAVE file");
  }
  let fmt: { format: Wav["format"] } | undefined;
  for (let at = 12; at + 8 <= bytes.length;) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (body + size > bytes.length && id !== "data") {
      throw new SyntaxError(`Cannot read WAV: chunk "${id}" is cut short`);
    }
    if (id === "fmt ") {
      if (size < 16) throw new SyntaxError('Cannot read WAV: "fmt " chunk shorter than 16 bytes');
      const code = view.getUint16(body, true);
      const channels = view.getUint16(body + 2, true);
      const rate = view.getUint32(body + 4, true);
      const bits = view.getUint16(body + 14, true);
      const known = _FORMATS[code];
      if (known === undefined || known.bits !== bits) {
        throw new RangeError(
          `Cannot read WAV: format ${code} with ${bits} bits; wanted 16-bit PCM (1), 8-bit A-law (6) or µ-law (7)`,
        );
      }
      if (channels !== 1) throw new RangeError(`Cannot read WAV: ${channels} channels; wanted mono`);
      if (rate !== 8000) throw new RangeError(`Cannot read WAV: ${rate} Hz; wanted 8000`);
      fmt = { format: known.format };
    } else if (id === "data") {
      if (fmt === undefined) throw new SyntaxError('Cannot read WAV: "data" before "fmt "');
      // A writer that did not know the length leaves it too large: take what is there.
      const data = bytes.subarray(body, Math.min(bytes.length, body + size));
      return { format: fmt.format, samples: _samples(fmt.format, data) };
    }
    at = body + size + (size & 1); // chunks are padded to an even size
  }
  throw new SyntaxError(`Cannot read WAV: no ${fmt === undefined ? '"fmt "' : '"data"'} chunk`);
}

function _samples(format: Wav["format"], data: Uint8Array): Int16Array {
  if (format === "pcm16") {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const out = new Int16Array(data.length >> 1);
    for (let i = 0; i < out.length; i++) out[i] = view.getInt16(2 * i, true);
    return out;
  }
  const decode = format === "mulaw" ? mulawDecode : alawDecode;
  return Int16Array.from(data, decode);
}

/**
 * Writes 16-bit linear samples as a WAV file: mono, 8000 Hz, PCM (format 1).
 *
 * @param samples The samples.
 * @returns The file: a 44-byte header and the samples, little-endian.
 * @example
 * ```ts
 * import { writeWav } from "@sipecho/sipecho/media";
 * import assert from "node:assert/strict";
 *
 * const file = writeWav(new Int16Array(160));
 * assert.equal(file.length, 44 + 320);
 * assert.equal(new TextDecoder().decode(file.subarray(0, 4)), "RIFF");
 * ```
 */
export function writeWav(samples: Int16Array): Uint8Array {
  const bytes = new Uint8Array(44 + samples.length * 2);
  const view = new DataView(bytes.buffer);
  const text = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) bytes[at + i] = s.charCodeAt(i);
  };
  text(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, 8000, true);
  view.setUint32(28, 16000, true); // bytes per second
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) view.setInt16(44 + 2 * i, samples[i], true);
  return bytes;
}
