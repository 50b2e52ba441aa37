/**
 * DTMF in an RTP stream: the telephone-event payload of RFC 4733 (§2.3) decoded, and the
 * packets of one key press made into one digit (§2.5.2): an event is told by its RTP timestamp,
 * which its start packet, its updates and its three end packets (§2.5.1.4) all carry.
 *
 * @module
 */

/**
 * The payload of one telephone-event packet (RFC 4733 §2.3).
 *
 * @example
 * ```ts
 * import { parseTelephoneEvent, type TelephoneEvent } from "@sipecho/sipecho/media";
 * import assert from "node:assert/strict";
 *
 * const e: TelephoneEvent | undefined = parseTelephoneEvent(Uint8Array.of(11, 0x8a, 0x03, 0x20));
 * assert.deepEqual(e, { event: 11, end: true, volume: 10, duration: 800 });
 * ```
 */
export interface TelephoneEvent {
  /** The event code: 0-9, 10 `*`, 11 `#`, 12-15 `A`-`D`, 16 flash (RFC 4733 §3.2). */
  event: number;
  /** The E bit: the event has ended. */
  end: boolean;
  /** The power level, 0 to 63: -0 to -63 dBm0. */
  volume: number;
  /** The duration so far, in units of the RTP clock (8000 Hz: 1/8 ms). */
  duration: number;
}

/**
 * Decodes a telephone-event payload (RFC 4733 §2.3): the event (8 bits), E, R (reserved,
 * ignored), the volume (6 bits), the duration (16 bits). A payload may hold more than one
 * event block (§2.5.1.5, redundancy through RFC 2198 is not read): the first is taken.
 *
 * @param payload The RTP payload.
 * @returns The event, or `undefined` when the payload is shorter than 4 bytes.
 * @example
 * ```ts
 * import { parseTelephoneEvent } from "@sipecho/sipecho/media";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseTelephoneEvent(Uint8Array.of(5, 0x0a, 0x00, 0xa0)), {
 *   event: 5, end: false, volume: 10, duration: 160,
 * });
 * assert.equal(parseTelephoneEvent(Uint8Array.of(5, 0x0a)), undefined);
 * ```
 */
export function parseTelephoneEvent(payload: Uint8Array): TelephoneEvent | undefined {
  if (payload.length < 4) return undefined;
  return {
    event: payload[0],
    end: (payload[1] & 0x80) !== 0,
    volume: payload[1] & 0x3f,
    duration: (payload[2] << 8) | payload[3],
  };
}

/** RFC 4733 §3.2, Table 1: the DTMF events 0-16 and the key each stands for (`!`: flash). */
const _KEYS = "0123456789*#ABCD!";

/**
 * The key of a DTMF event code (RFC 4733 §3.2): `0`-`9`, `*`, `#`, `A`-`D`, and `!` for the
 * flash (16).
 *
 * @param event The event code.
 * @returns The key, or `undefined` for codes that are not DTMF (17 and up: other tones).
 * @example
 * ```ts
 * import { dtmfKey } from "@sipecho/sipecho/media";
 * import assert from "node:assert/strict";
 *
 * assert.equal(dtmfKey(11), "#");
 * assert.equal(dtmfKey(16), "!");
 * assert.equal(dtmfKey(32), undefined);
 * ```
 */
export function dtmfKey(event: number): string | undefined {
  return Number.isInteger(event) && event >= 0 && event < _KEYS.length ? _KEYS[event] : undefined;
}

/**
 * One DTMF digit received in a call: from RTP telephone-events (RFC 4733) or from a SIP INFO.
 *
 * @example
 * ```ts
 * import type { DtmfDigit } from "@sipecho/sipecho/media";
 * import assert from "node:assert/strict";
 *
 * const d: DtmfDigit = { digit: "#", duration: 100, volume: 10, ended: true, source: "rtp" };
 * assert.equal(`${d.digit} ${d.duration} ms`, "# 100 ms");
 * ```
 */
export interface DtmfDigit {
  /** The key: `0`-`9`, `*`, `#`, `A`-`D`, or `!` for a flash. */
  digit: string;
  /** How long it was pressed, ms (for INFO the `Duration` it gives, else 0). */
  duration: number;
  /** RTP: the power level of its last packet, 0 to 63 (-dBm0); INFO: `undefined`. */
  volume: number | undefined;
  /**
   * RTP: whether its end packet came; `false` when the next event began (or the call ended)
   * without one, its duration then the last one seen (RFC 4733 §2.5.2.2). INFO: `true`.
   */
  ended: boolean;
  /** Where it came from: `rtp` (RFC 4733) or `info` (SIP INFO). */
  source: "rtp" | "info";
}

/**
 * Makes the telephone-event packets of one RTP stream into digits, one per key press: the
 * packets of an event share its RTP timestamp (RFC 4733 §2.5.1.2), so the repeated start
 * packets, the updates and the three end packets (§2.5.1.4) give one digit, when the first end
 * packet arrives; an event whose end packets are all lost is reported when the next event
 * begins, or at {@linkcode DtmfDetector.flush}. Codes above 16 (other tones) are not reported.
 * Long events split into segments (§2.5.1.3) are reported as one digit per segment.
 *
 * @example
 * ```ts
 * import { DtmfDetector } from "@sipecho/sipecho/media";
 * import assert from "node:assert/strict";
 *
 * const detector = new DtmfDetector(8000);
 * const packet = (duration: number, end: boolean) => Uint8Array.of(1, (end ? 0x80 : 0) | 10, duration >> 8, duration & 255);
 * const header = { timestamp: 1000, ssrc: 7 };
 * assert.deepEqual(detector.push(header, packet(160, false)), []);
 * assert.deepEqual(detector.push(header, packet(800, true)), [
 *   { digit: "1", duration: 100, volume: 10, ended: true, source: "rtp" },
 * ]);
 * assert.deepEqual(detector.push(header, packet(800, true)), []); // a retransmitted end packet
 * ```
 */
export class DtmfDetector {
  readonly #clockRate: number;
  #current: { timestamp: number; ssrc: number; event: number; duration: number; volume: number } | undefined;
  #done: { timestamp: number; ssrc: number } | undefined;

  /**
   * Makes a detector for one stream.
   *
   * @param clockRate The telephone-event clock rate from its `a=rtpmap` (RFC 4733 §2.1), Hz.
   * @throws {RangeError} If `clockRate` is not a positive integer.
   */
  constructor(clockRate = 8000) {
    if (!Number.isInteger(clockRate) || clockRate <= 0) {
      throw new RangeError(`DtmfDetector: clockRate must be a positive integer, not ${clockRate}`);
    }
    this.#clockRate = clockRate;
  }

  /**
   * Takes one telephone-event packet.
   *
   * @param header Its RTP timestamp and SSRC.
   * @param payload Its payload.
   * @returns The digits it completes, in order: none, the event it ends, or an event left
   *   without an end that it replaces (and then maybe its own).
   * @example
   * ```ts
   * import { DtmfDetector } from "@sipecho/sipecho/media";
   * import assert from "node:assert/strict";
   *
   * const detector = new DtmfDetector();
   * detector.push({ timestamp: 0, ssrc: 1 }, Uint8Array.of(2, 10, 0, 160)); // "2": its end packets are lost
   * const digits = detector.push({ timestamp: 1600, ssrc: 1 }, Uint8Array.of(3, 10, 0, 160));
   * assert.deepEqual(digits.map((d) => [d.digit, d.ended]), [["2", false]]);
   * ```
   */
  push(header: { timestamp: number; ssrc: number }, payload: Uint8Array): DtmfDigit[] {
    const e = parseTelephoneEvent(payload);
    if (e === undefined) return [];
    const { timestamp, ssrc } = header;
    // §2.5.2.2: the end packets are sent three times; a late packet of an ended event is dropped.
    const done = this.#done;
    if (done !== undefined && done.timestamp === timestamp && done.ssrc === ssrc) return [];
    const out: DtmfDigit[] = [];
    let current = this.#current;
    if (current !== undefined && (current.timestamp !== timestamp || current.ssrc !== ssrc)) {
      const left = this.flush();
      if (left !== undefined) out.push(left);
      current = undefined;
    }
    if (current === undefined) {
      current = { timestamp, ssrc, event: e.event, duration: e.duration, volume: e.volume };
      this.#current = current;
    } else {
      current.duration = Math.max(current.duration, e.duration);
      current.volume = e.volume;
    }
    if (e.end) {
      const digit = this.#digit(current, true);
      this.#current = undefined;
      this.#done = { timestamp, ssrc };
      if (digit !== undefined) out.push(digit);
    }
    return out;
  }

  /**
   * Ends the event in progress, if any (the call ended, or another event began without its end
   * packet).
   *
   * @returns Its digit, with `ended: false`, or `undefined`.
   * @example
   * ```ts
   * import { DtmfDetector } from "@sipecho/sipecho/media";
   * import assert from "node:assert/strict";
   *
   * const detector = new DtmfDetector();
   * detector.push({ timestamp: 0, ssrc: 1 }, Uint8Array.of(10, 10, 0, 80));
   * assert.deepEqual(detector.flush(), { digit: "*", duration: 10, volume: 10, ended: false, source: "rtp" });
   * assert.equal(detector.flush(), undefined);
   * ```
   */
  flush(): DtmfDigit | undefined {
    const current = this.#current;
    if (current === undefined) return undefined;
    this.#current = undefined;
    this.#done = { timestamp: current.timestamp, ssrc: current.ssrc };
    return this.#digit(current, false);
  }

  #digit(e: { event: number; duration: number; volume: number }, ended: boolean): DtmfDigit | undefined {
    const digit = dtmfKey(e.event);
    if (digit === undefined) return undefined;
    return {
      digit,
      duration: Math.round((e.duration * 1000) / this.#clockRate),
      volume: e.volume,
      ended,
      source: "rtp",
    };
  }
}
