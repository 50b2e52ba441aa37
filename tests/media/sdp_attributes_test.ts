import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseSdp } from "../../src/media/parse_sdp.ts";
import { getDirection, getFmtp, getPtime, getRtpmap, hasRtcpMux } from "../../src/media/sdp_attributes.ts";
import { HEAD, offerWith, sdp } from "./_sdp.ts";

describe("getDirection()", () => {
  test("getDirection() inherits the session-level direction and defaults to sendrecv", () => {
    const withDefault = offerWith("m=audio 5004 RTP/AVP 0", "m=audio 5006 RTP/AVP 0", "a=recvonly");
    assert.equal(getDirection(withDefault), "sendrecv");
    assert.equal(getDirection(withDefault, withDefault.media[0]), "sendrecv");
    const session = parseSdp(
      sdp(...HEAD, "a=inactive", "m=audio 5004 RTP/AVP 0", "m=audio 5006 RTP/AVP 0", "a=sendonly"),
    );
    assert.equal(getDirection(session, session.media[0]), "inactive");
    assert.equal(getDirection(session, session.media[1]), "sendonly");
  });
});

describe("getRtpmap()", () => {
  test("getRtpmap() reads a=rtpmap in any case, else the static payload type (RFC 3551)", () => {
    const sd = offerWith(
      "m=audio 5004 RTP/AVP 0 96 97 98 10 100",
      "a=RTPMAP:96 opus/48000/2",
      "a=rtpmap:97 garbled",
      "a=rtpmap:98 foo/8000/abc",
      "a=rtpmap:100 bar/16000",
    );
    const m = sd.media[0];
    assert.deepEqual(getRtpmap(m, "0"), { payloadType: 0, encodingName: "PCMU", clockRate: 8000 });
    assert.deepEqual(getRtpmap(m, "96"), { payloadType: 96, encodingName: "opus", clockRate: 48000, channels: 2 });
    assert.equal(getRtpmap(m, "97"), undefined, "a malformed rtpmap of a dynamic type");
    assert.deepEqual(getRtpmap(m, "98"), { payloadType: 98, encodingName: "foo", clockRate: 8000 });
    assert.deepEqual(getRtpmap(m, "10"), { payloadType: 10, encodingName: "L16", clockRate: 44100, channels: 2 });
    assert.equal(getRtpmap(m, "1"), undefined, "a=rtpmap:100 is not the rtpmap of 1 or 10");
    assert.equal(getRtpmap(m, "x"), undefined);
  });
});

describe("getFmtp()", () => {
  test("getFmtp() gives the first a=fmtp of the format, in any case, and an empty one as empty", () => {
    const m = offerWith(
      "m=audio 5004 RTP/AVP 101 102",
      "a=FMTP:101 0-15",
      "a=fmtp:101 0-11",
      "a=fmtp:102",
    ).media[0];
    assert.equal(getFmtp(m, "101"), "0-15");
    assert.equal(getFmtp(m, "102"), "");
    assert.equal(getFmtp(m, "10"), undefined);
  });
});

describe("hasRtcpMux() and getPtime()", () => {
  test("hasRtcpMux() finds a=rtcp-mux in any case", () => {
    assert.equal(hasRtcpMux(offerWith("m=audio 5004 RTP/AVP 0", "a=RTCP-MUX").media[0]), true);
    assert.equal(hasRtcpMux(offerWith("m=audio 5004 RTP/AVP 0", "a=rtcp-mux-only").media[0]), false);
    assert.equal(hasRtcpMux(offerWith("m=audio 5004 RTP/AVP 0").media[0]), false);
  });

  test("getPtime() reads the first a=ptime as a number, in any case", () => {
    const ptime = (...lines: string[]) => getPtime(offerWith("m=audio 5004 RTP/AVP 0", ...lines).media[0]);
    assert.equal(ptime("a=PTIME: 30 "), 30);
    assert.equal(ptime("a=ptime:22.5"), 22.5);
    assert.equal(ptime("a=ptime:20", "a=ptime:40"), 20);
    assert.equal(ptime("a=ptime:abc"), undefined);
    assert.equal(ptime("a=ptime"), undefined);
    assert.equal(ptime(), undefined);
  });

  test("getDirection() ignores a direction with a value", () => {
    const sd = offerWith("m=audio 5004 RTP/AVP 0", "a=sendonly:x", "a=recvonly");
    assert.equal(getDirection(sd, sd.media[0]), "recvonly");
  });
});
