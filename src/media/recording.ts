/**
 * The recording of a call: the G.711 RTP packets of one source (the first SSRC heard), decoded
 * to 16-bit linear samples and placed by their RTP timestamp (RFC 3550 §5.1), so that a lost
 * packet leaves silence and a reordered one lands in its place; bounded in length.
 *
 * @module
 */

import { alawDecode, mulawDecode } from "./g711.ts";
import { writeWav } from "./wav.ts";

/**
 * The longest recording, seconds, unless told otherwise (`maxSeconds`): 60 s are 960 KB of
 * 16-bit samples held until the call ends.
 *
 * @example
 * ```ts
 * import { DEFAULT_RECORD_SECONDS } from "@sipecho/sipecho/media";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_RECORD_SECONDS * 8000 * 2, 960_000); // bytes held at most
 * ```
 */
export const DEFAULT_RECORD_SECONDS = 60;
/** The most `maxSeconds` may be: one hour (57.6 MB of samples per call). */
const _MAX_SECONDS = 3600;

/**
 * Records the G.711 packets of one call's stream.
 *
 * @example
 * ```ts
 * import { parseWav, Recording } from "@sipecho/sipecho/media";
 * import assert from "node:assert/strict";
 *
 * const recording = new Recording(10);
 * recording.add({ timestamp: 1000, ssrc: 7 }, new Uint8Array(160).fill(0xff), "PCMU");
 * recording.add({ timestamp: 1320, ssrc: 7 }, new Uint8Array(160).fill(0xff), "PCMU"); // one packet lost before it
 * assert.equal(recording.samples().length, 480);
 * assert.equal(parseWav(recording.wav()).samples.length, 480);
 * ```
 */
export class Recording {
  readonly #max: number;
  #buffer = new Int16Array(8000);
  #length = 0;
  #start: { timestamp: number; ssrc: number } | undefined;
  #packets = 0;

  /**
   * Makes an empty recording.
   *
   * @param maxSeconds The longest it gets, 1 to 3600 s (default 60); samples past it are dropped.
   * @throws {RangeError} If `maxSeconds` is out of range.
   */
  constructor(maxSeconds: number = DEFAULT_RECORD_SECONDS) {
    if (!Number.isInteger(maxSeconds) || maxSeconds < 1 || maxSeconds > _MAX_SECONDS) {
      throw new RangeError(`Recording: maxSeconds must be an integer from 1 to ${_MAX_SECONDS}, not ${maxSeconds}`);
    }
    this.#max = maxSeconds * 8000;
  }

  /** How many packets it took. */
  get packets(): number {
    return this.#packets;
  }

  /**
   * Takes one packet: placed at its timestamp after the first packet's, if it is of the first
   * packet's SSRC, not before it and not past the length limit (what is past is cut).
   *
   * @param header Its timestamp and SSRC.
   * @param payload Its payload, one G.711 byte per sample.
   * @param encoding `PCMU` or `PCMA`.
   * @returns Whether any of it was kept.
   */
  add(header: { timestamp: number; ssrc: number }, payload: Uint8Array, encoding: "PCMU" | "PCMA"): boolean {
    this.#start ??= { timestamp: header.timestamp, ssrc: header.ssrc };
    if (header.ssrc !== this.#start.ssrc) return false;
    const offset = (header.timestamp - this.#start.timestamp) >>> 0;
    // Half the timestamp space behind is a packet from before the first (RFC 3550 §5.1 wraps).
    if (offset >= 2 ** 31 || offset >= this.#max) return false;
    const end = Math.min(this.#max, offset + payload.length);
    if (end > this.#buffer.length) {
      let size = this.#buffer.length;
      while (size < end) size *= 2;
      const bigger = new Int16Array(Math.min(size, this.#max));
      bigger.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = bigger;
    }
    const decode = encoding === "PCMU" ? mulawDecode : alawDecode;
    for (let i = offset; i < end; i++) this.#buffer[i] = decode(payload[i - offset]);
    this.#length = Math.max(this.#length, end);
    this.#packets++;
    return true;
  }

  /**
   * The samples so far (a view, up to the last one placed).
   *
   * @returns The samples, 8000 Hz.
   */
  samples(): Int16Array {
    return this.#buffer.subarray(0, this.#length);
  }

  /**
   * The recording as a WAV file: mono, 8000 Hz, 16-bit PCM.
   *
   * @returns The file's bytes.
   */
  wav(): Uint8Array {
    return writeWav(this.samples());
  }
}
