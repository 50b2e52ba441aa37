/**
 * What the echo reads and writes in an RTP or RTCP packet (RFC 3550): whether it is RTCP on a
 * multiplexed port (RFC 5761 §4), whether it has a version 2 fixed header, and where its SSRC
 * is.
 *
 * @module
 */

/**
 * Whether a packet on a port that carries both RTP and RTCP is RTCP: RFC 5761 §4 tells them
 * apart by the second byte, 192-223 for RTCP packet types (SR, RR, SDES, BYE, APP, feedback).
 *
 * @param packet The UDP payload.
 * @returns `true` for RTCP.
 */
export function _isMuxedRtcp(packet: Uint8Array): boolean {
  return packet.length > 1 && packet[1] >= 192 && packet[1] <= 223;
}

/**
 * Whether a packet can be echoed: RTP or RTCP version 2 (RFC 3550 §5.1, §6.4.1) and at least
 * the fixed header: 12 bytes for RTP; the header and the sender's SSRC, 8 bytes, for RTCP.
 * Anything else is not echoed, so the ports do not reflect arbitrary UDP.
 *
 * @param packet The UDP payload.
 * @param rtcp Whether it is RTCP.
 * @returns `true` if it has such a header.
 */
export function _hasFixedHeader(packet: Uint8Array, rtcp: boolean): boolean {
  return (packet[0] ?? 0) >> 6 === 2 && packet.length >= (rtcp ? 8 : 12);
}

/**
 * Writes an SSRC into an RTP packet: RFC 3550 §5.1, the third 32-bit word of the fixed header.
 *
 * @param packet An RTP packet of at least 12 bytes; changed in place.
 * @param ssrc The SSRC.
 */
export function _rewriteRtpSsrc(packet: Uint8Array, ssrc: number): void {
  new DataView(packet.buffer, packet.byteOffset, packet.byteLength).setUint32(8, ssrc);
}

/**
 * Writes an SSRC into each packet of a compound RTCP packet. RFC 3550 §6.4-§6.7 (and RFC 4585
 * §6.1 for feedback): each has its sender's SSRC (SR, RR, APP, RTPFB, PSFB), or its first SSRC
 * (SDES chunk, BYE), in the second word; its length field is its size in 32-bit words minus
 * one (§6.4.1).
 *
 * @param packet An RTCP packet; changed in place.
 * @param ssrc The SSRC.
 */
export function _rewriteRtcpSsrc(packet: Uint8Array, ssrc: number): void {
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  for (let offset = 0; offset + 4 <= packet.length;) {
    const size = (view.getUint16(offset + 2) + 1) * 4;
    if (size >= 8 && offset + 8 <= packet.length) view.setUint32(offset + 4, ssrc);
    offset += size;
  }
}
