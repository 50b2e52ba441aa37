/**
 * Reading the fixed header of an RTP packet (RFC 3550 §5.1) for the media flows that look
 * inside the packets (DTMF, recording): payload type, marker, sequence number, timestamp, SSRC
 * and where the payload is, past the CSRC list, the header extension (§5.3.1) and padding.
 *
 * @module
 */

/**
 * The fields of an RTP packet's fixed header and where its payload lies.
 *
 * @example
 * ```ts
 * import { readRtpHeader, type RtpHeader } from "@sipecho/sipecho/media";
 * import assert from "node:assert/strict";
 *
 * const header: RtpHeader | undefined = readRtpHeader(Uint8Array.of(0x80, 0x80, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7, 0xff));
 * assert.equal(header?.marker, true);
 * assert.equal(header?.payloadType, 0);
 * ```
 */
export interface RtpHeader {
  /** The payload type, 0-127. */
  payloadType: number;
  /** The marker bit. */
  marker: boolean;
  /** The sequence number, 0-65535. */
  sequence: number;
  /** The timestamp, 0 to 2^32-1. */
  timestamp: number;
  /** The SSRC, 0 to 2^32-1. */
  ssrc: number;
  /** Where the payload starts in the packet. */
  payloadOffset: number;
  /** Where the payload ends (before any padding). */
  payloadEnd: number;
}

/**
 * Reads the header of an RTP packet (RFC 3550 §5.1): version 2, the CSRC count, the extension
 * bit (§5.3.1: a 4-byte header and `length` 32-bit words), the padding bit (the last byte counts
 * the padding bytes).
 *
 * @param packet The UDP payload.
 * @returns The header, or `undefined` when it is not version 2 or its lengths do not fit.
 * @example
 * ```ts
 * import { readRtpHeader } from "@sipecho/sipecho/media";
 * import assert from "node:assert/strict";
 *
 * // Version 2, payload type 101, sequence 7, timestamp 160, SSRC 1, payload 4 bytes.
 * const packet = Uint8Array.of(0x80, 101, 0, 7, 0, 0, 0, 160, 0, 0, 0, 1, 5, 0x8a, 0, 160);
 * assert.deepEqual(readRtpHeader(packet), {
 *   payloadType: 101, marker: false, sequence: 7, timestamp: 160, ssrc: 1, payloadOffset: 12, payloadEnd: 16,
 * });
 * assert.equal(readRtpHeader(packet.subarray(0, 11)), undefined);
 * ```
 */
export function readRtpHeader(packet: Uint8Array): RtpHeader | undefined {
  if (packet.length < 12 || packet[0] >> 6 !== 2) return undefined;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  let offset = 12 + (packet[0] & 0x0f) * 4;
  if (packet[0] & 0x10) {
    if (offset + 4 > packet.length) return undefined;
    offset += 4 + view.getUint16(offset + 2) * 4;
  }
  let end = packet.length;
  if (packet[0] & 0x20) end -= packet[packet.length - 1];
  if (offset > end) return undefined;
  return {
    payloadType: packet[1] & 0x7f,
    marker: (packet[1] & 0x80) !== 0,
    sequence: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
    payloadOffset: offset,
    payloadEnd: end,
  };
}
