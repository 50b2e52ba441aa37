import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { _hasFixedHeader, _isMuxedRtcp, _rewriteRtcpSsrc, _rewriteRtpSsrc } from "../../src/media/rtp_packet.ts";
import { rtcpRr, rtcpSrSdes, rtp } from "./_echo.ts";

describe("rtp_packet", () => {
  test("_isMuxedRtcp() tells RTCP by packet types 192-223 (RFC 5761 §4)", () => {
    const withType = (type: number) => Uint8Array.of(0x80, type, 0, 1);
    assert.equal(_isMuxedRtcp(rtcpRr(1)), true);
    assert.equal(_isMuxedRtcp(withType(192)), true);
    assert.equal(_isMuxedRtcp(withType(223)), true);
    assert.equal(_isMuxedRtcp(withType(191)), false);
    assert.equal(_isMuxedRtcp(withType(224)), false);
    assert.equal(_isMuxedRtcp(rtp(1, 1)), false);
    assert.equal(_isMuxedRtcp(rtp(1, 1, 160, 96 | 0x80)), false, "a marker bit on payload type 96 is 224");
    assert.equal(_isMuxedRtcp(Uint8Array.of(0x80)), false);
  });

  test("_hasFixedHeader() wants version 2 and 12 bytes for RTP, 8 for RTCP", () => {
    assert.equal(_hasFixedHeader(rtp(1, 1, 0), false), true);
    assert.equal(_hasFixedHeader(rtp(1, 1, 0).subarray(0, 11), false), false);
    assert.equal(_hasFixedHeader(rtcpRr(1), true), true);
    assert.equal(_hasFixedHeader(rtcpRr(1).subarray(0, 7), true), false);
    const version1 = rtp(1, 1);
    version1[0] = 0x40;
    assert.equal(_hasFixedHeader(version1, false), false);
    assert.equal(_hasFixedHeader(new Uint8Array(0), true), false);
  });

  test("_rewriteRtpSsrc() writes the third word, also in a view into a larger buffer", () => {
    const buffer = new Uint8Array(100);
    const packet = rtp(7, 0x11111111, "voice");
    buffer.set(packet, 10);
    const view = buffer.subarray(10, 10 + packet.length);
    _rewriteRtpSsrc(view, 0xcafebabe);
    assert.equal(new DataView(buffer.buffer).getUint32(18), 0xcafebabe);
    assert.deepEqual(view.subarray(0, 8), packet.subarray(0, 8));
    assert.deepEqual(view.subarray(12), packet.subarray(12));
    assert.deepEqual(buffer.subarray(0, 10), new Uint8Array(10));
  });

  test("_rewriteRtcpSsrc() writes the SSRC of each packet of a compound packet and stops at its end", () => {
    const compound = rtcpSrSdes(0x11111111);
    const original = compound.slice();
    _rewriteRtcpSsrc(compound, 0xcafebabe);
    const view = new DataView(compound.buffer);
    assert.equal(view.getUint32(4), 0xcafebabe, "SR sender SSRC");
    assert.equal(view.getUint32(32), 0xcafebabe, "SDES chunk SSRC");
    assert.deepEqual(compound.subarray(8, 28), original.subarray(8, 28));
    assert.deepEqual(compound.subarray(36), original.subarray(36));
    // A length field that runs past the end: nothing is written beyond the packet.
    const truncated = rtcpRr(1).slice(0, 6);
    _rewriteRtcpSsrc(truncated, 0xcafebabe);
    assert.deepEqual(truncated, rtcpRr(1).slice(0, 6));
  });
});
