import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { describeMedia, type MediaCallStats, type MediaCounters } from "../../src/media/stats.ts";

function counters(packets: number, bytes: number, dropped = 0): MediaCounters {
  return { packetsIn: packets + dropped, bytesIn: bytes, packetsOut: packets, bytesOut: bytes, dropped };
}

function call(overrides: Partial<MediaCallStats>): MediaCallStats {
  return {
    callId: "c1",
    reason: "closed",
    openedAt: 0,
    endedAt: 2500,
    firstPacketAt: undefined,
    lastPacketAt: undefined,
    sources: [],
    streams: [],
    ...counters(0, 0),
    ...overrides,
  };
}

describe("describeMedia()", () => {
  test("describeMedia() sums RTP and RTCP over the streams and lists their ports", () => {
    const stream = (index: number, rtpPort: number, rtp: MediaCounters, rtcp: MediaCounters) => ({
      index,
      rtpPort,
      rtcpPort: rtpPort + 1,
      ssrc: undefined,
      rtp,
      rtcp,
      rtpSource: undefined,
      rtcpSource: undefined,
    });
    const line = describeMedia(
      call({
        firstPacketAt: Date.UTC(2024, 0, 1, 12, 30, 0, 5),
        lastPacketAt: Date.UTC(2024, 0, 1, 12, 30, 2, 480),
        sources: [{ address: "2001:db8::7", port: 5004 }, { address: "192.0.2.9", port: 6000 }],
        streams: [
          stream(0, 20000, counters(10, 1720), counters(1, 8)),
          stream(1, 20002, counters(5, 860, 2), counters(2, 60)),
        ],
        dropped: 2,
      }),
      "timeout",
    );
    assert.equal(
      line,
      "call c1 ended (timeout) after 2.5 s: ports 20000,20002 rtp 17 in 15 out (2580/2580 bytes), " +
        "rtcp 3 in 3 out (68/68 bytes), 2 dropped, packets 12:30:00.005-12:30:02.480 " +
        "from [2001:db8::7]:5004, 192.0.2.9:6000",
    );
  });

  test("describeMedia() says when no packet came", () => {
    assert.equal(
      describeMedia(call({ endedAt: 30_000 }), "bye"),
      "call c1 ended (bye) after 30.0 s: ports  rtp 0 in 0 out (0/0 bytes), rtcp 0 in 0 out (0/0 bytes), " +
        "0 dropped, no packet received",
    );
  });
});
