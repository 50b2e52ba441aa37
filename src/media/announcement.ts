/**
 * The RTP packets of an announcement (RFC 3550 §5.1, RFC 3551 §4.5.14): the samples of a WAV
 * file cut into frames of `ptime` ms, G.711-encoded, each with our SSRC, a sequence number one
 * up from the last, a timestamp `ptime * 8` samples up, and the marker bit on the first (the
 * start of a talkspurt, RFC 3551 §4.1).
 *
 * @module
 */

import { alawEncode, mulawEncode } from "./g711.ts";

/**
 * How an announcement is sent: the codec and payload type of the answer, the frame length and
 * the first header fields.
 *
 * @example
 * ```ts
 * import type { AnnouncementOptions } from "@sipecho/sipecho/media";
 * import assert from "node:assert/strict";
 *
 * const o: AnnouncementOptions = { encoding: "PCMA", payloadType: 8, ptime: 20, ssrc: 1, sequence: 0, timestamp: 0 };
 * assert.equal(o.ptime * 8, 160); // samples per packet at 8000 Hz
 * ```
 */
export interface AnnouncementOptions {
  /** The G.711 law: `PCMU` (µ-law) or `PCMA` (A-law). */
  encoding: "PCMU" | "PCMA";
  /** The payload type the answer gives it (0 and 8 unless mapped otherwise). */
  payloadType: number;
  /** Milliseconds of audio per packet, 10-200 (the answer's `a=ptime`, RFC 4566 §6; default 20). */
  ptime: number;
  /** Our SSRC. */
  ssrc: number;
  /** The first sequence number (RFC 3550 §5.1: random). */
  sequence: number;
  /** The first timestamp (RFC 3550 §5.1: random). */
  timestamp: number;
}

/**
 * An announcement made into RTP packets, one at a time.
 *
 * @example
 * ```ts
 * import { Announcement, mulawDecode } from "@sipecho/sipecho/media";
 * import assert from "node:assert/strict";
 *
 * const samples = new Int16Array(400).fill(1000); // 50 ms
 * const a = new Announcement(samples, { encoding: "PCMU", payloadType: 0, ptime: 20, ssrc: 9, sequence: 65535, timestamp: 0 });
 * assert.equal(a.count, 3); // 160 + 160 + 80 samples
 * const [first, last] = [a.packet(0), a.packet(2)];
 * assert.equal(first[1], 0x80); // marker, payload type 0
 * assert.equal(last.length, 12 + 80);
 * assert.equal((last[2] << 8) | last[3], 1); // the sequence number wraps
 * assert.equal(mulawDecode(last[12]), 988);
 * ```
 */
export class Announcement {
  readonly #samples: Int16Array;
  readonly #o: AnnouncementOptions;
  readonly #frame: number;

  /**
   * Makes the packets of `samples` (8000 Hz).
   *
   * @param samples The samples, 16-bit linear.
   * @param options The codec, frame length and first header fields.
   * @throws {RangeError} If `ptime` is not an integer from 10 to 200.
   */
  constructor(samples: Int16Array, options: AnnouncementOptions) {
    if (!Number.isInteger(options.ptime) || options.ptime < 10 || options.ptime > 200) {
      throw new RangeError(`Announcement: ptime must be an integer from 10 to 200 ms, not ${options.ptime}`);
    }
    this.#samples = samples;
    this.#o = options;
    this.#frame = options.ptime * 8;
  }

  /** How many packets it makes. */
  get count(): number {
    return Math.ceil(this.#samples.length / this.#frame);
  }

  /**
   * Packet `i`, 0-based: `ptime` ms of samples (the last may be shorter).
   *
   * @param i The index, from 0 to `count - 1`.
   * @returns The RTP packet.
   */
  packet(i: number): Uint8Array {
    const o = this.#o;
    const start = i * this.#frame;
    const frame = this.#samples.subarray(start, start + this.#frame);
    const packet = new Uint8Array(12 + frame.length);
    const view = new DataView(packet.buffer);
    packet[0] = 0x80;
    packet[1] = (i === 0 ? 0x80 : 0) | (o.payloadType & 0x7f);
    view.setUint16(2, (o.sequence + i) & 0xffff);
    view.setUint32(4, (o.timestamp + start) >>> 0);
    view.setUint32(8, o.ssrc >>> 0);
    const encode = o.encoding === "PCMU" ? mulawEncode : alawEncode;
    for (let k = 0; k < frame.length; k++) packet[12 + k] = encode(frame[k]);
    return packet;
  }
}
