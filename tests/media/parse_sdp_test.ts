import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseSdp } from "../../src/media/parse_sdp.ts";
import { getDirection, getFmtp, getPtime, getRtpmap, hasRtcpMux } from "../../src/media/sdp_attributes.ts";
import { SdpError } from "../../src/media/sdp_types.ts";
import { HEAD, sdp, SOFTPHONE_OFFER } from "./_sdp.ts";

function parseError(text: string): SdpError {
  try {
    parseSdp(text);
  } catch (e) {
    assert.ok(e instanceof SdpError, `expected SdpError, got ${e}`);
    assert.ok(e instanceof SyntaxError);
    return e;
  }
  assert.fail("parseSdp() did not throw");
}

describe("parseSdp()", () => {
  test("parseSdp() reads a typical softphone offer", () => {
    const sd = parseSdp(SOFTPHONE_OFFER);
    assert.equal(sd.version, 0);
    assert.deepEqual(sd.origin, {
      username: "alice",
      sessionId: "2890844526",
      sessionVersion: "2890844527",
      netType: "IN",
      addrType: "IP4",
      address: "192.0.2.10",
    });
    assert.equal(sd.sessionName, "Talk");
    assert.deepEqual(sd.connection, { netType: "IN", addrType: "IP4", address: "192.0.2.10" });
    assert.deepEqual(sd.timing, [{ start: 0, stop: 0, repeats: [] }]);
    assert.equal(sd.media.length, 1);
    const [audio] = sd.media;
    assert.equal(audio.media, "audio");
    assert.equal(audio.port, 49170);
    assert.equal(audio.portCount, undefined);
    assert.equal(audio.proto, "RTP/AVP");
    assert.deepEqual(audio.formats, ["0", "8", "101"]);
    assert.equal(audio.connection, undefined);
    assert.deepEqual(audio.attributes[3], { name: "fmtp", value: "101 0-16" });
    assert.deepEqual(audio.attributes[5], { name: "sendrecv" });
    assert.deepEqual(getRtpmap(audio, "101"), { payloadType: 101, encodingName: "telephone-event", clockRate: 8000 });
    assert.equal(getFmtp(audio, "101"), "0-16");
    assert.equal(getFmtp(audio, "0"), undefined);
    assert.equal(getPtime(audio), 20);
    assert.equal(getDirection(sd, audio), "sendrecv");
    assert.equal(hasRtcpMux(audio), false);
  });

  test("parseSdp() reads c=IN IP6 2001:db8::20", () => {
    const sd = parseSdp(sdp("v=0", "o=- 1 1 IN IP6 2001:db8::20", "s=-", "c=IN IP6 2001:db8::20", "t=0 0"));
    assert.deepEqual(sd.connection, { netType: "IN", addrType: "IP6", address: "2001:db8::20" });
    assert.equal(sd.origin.addrType, "IP6");
    assert.equal(sd.origin.address, "2001:db8::20");
    assert.deepEqual(sd.media, []);
  });

  test("parseSdp() keeps a connection address per m-line", () => {
    const sd = parseSdp(sdp(
      "v=0",
      "o=- 1 1 IN IP4 192.0.2.1",
      "s=-",
      "t=0 0",
      "m=audio 5004 RTP/AVP 0",
      "c=IN IP4 192.0.2.1",
      "m=video 5006 RTP/AVP 31",
      "c=IN IP6 2001:db8::7",
      "b=AS:256",
    ));
    assert.equal(sd.connection, undefined);
    assert.deepEqual(sd.media[0].connection, { netType: "IN", addrType: "IP4", address: "192.0.2.1" });
    assert.deepEqual(sd.media[1].connection, { netType: "IN", addrType: "IP6", address: "2001:db8::7" });
    assert.deepEqual(sd.media[1].bandwidths, [{ type: "AS", value: 256 }]);
    assert.equal(sd.media[1].media, "video");
  });

  test("parseSdp() accepts bare LF line endings and a missing final line end", () => {
    const lf = SOFTPHONE_OFFER.replaceAll("\r\n", "\n").trimEnd();
    assert.deepEqual(parseSdp(lf), parseSdp(SOFTPHONE_OFFER));
  });

  test("parseSdp() reads a port count, multicast connections and repeat times", () => {
    const sd = parseSdp(sdp(
      "v=0",
      "o=- 1 1 IN IP4 192.0.2.1",
      "s=-",
      "c=IN IP4 224.2.1.1/127/3",
      "t=3034423619 3042462419",
      "r=604800 3600 0 90000",
      "m=audio 49170/2 RTP/AVP 0",
      "c=IN IP6 ff15::101/3",
    ));
    assert.deepEqual(sd.connection, {
      netType: "IN",
      addrType: "IP4",
      address: "224.2.1.1",
      ttl: 127,
      addressCount: 3,
    });
    assert.deepEqual(sd.media[0].connection, { netType: "IN", addrType: "IP6", address: "ff15::101", addressCount: 3 });
    assert.deepEqual(sd.timing, [{ start: 3034423619, stop: 3042462419, repeats: ["604800 3600 0 90000"] }]);
    assert.equal(sd.media[0].portCount, 2);
  });

  test("parseSdp() keeps unknown lines and attributes in order", () => {
    const sd = parseSdp(sdp(
      "v=0",
      "o=- 1 1 IN IP4 192.0.2.1",
      "s=-",
      "i=A session",
      "c=IN IP4 192.0.2.1",
      "t=0 0",
      "x=unknown",
      "a=group:BUNDLE 0",
      "a=tool:test",
      "m=audio 5004 RTP/AVP 0",
      "i=Voice",
      "a=mid:0",
      "a=rtcp-mux",
      "a=empty:",
    ));
    assert.deepEqual(sd.otherLines, [{ type: "i", value: "A session" }, { type: "x", value: "unknown" }]);
    assert.deepEqual(sd.attributes, [{ name: "group", value: "BUNDLE 0" }, { name: "tool", value: "test" }]);
    assert.deepEqual(sd.media[0].otherLines, [{ type: "i", value: "Voice" }]);
    assert.deepEqual(sd.media[0].attributes, [{ name: "mid", value: "0" }, { name: "rtcp-mux" }, {
      name: "empty",
      value: "",
    }]);
    assert.equal(hasRtcpMux(sd.media[0]), true);
  });

  test("parseSdp() rejects a description that does not start with v=", () => {
    const e = parseError(sdp("o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0"));
    assert.equal(e.line, 1);
    assert.equal(e.message, 'Cannot parse SDP line 1 "o=- 1 1 IN IP4 192.0.2.1": the first line must be "v=0"');
  });

  test("parseSdp() rejects a version other than 0", () => {
    const e = parseError(sdp("v=1", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0"));
    assert.equal(e.line, 1);
    assert.match(e.message, /the version is not 0/);
  });

  test("parseSdp() rejects an m= line with a bad port, naming the line", () => {
    const e = parseError(sdp(...HEAD, "m=audio 70000 RTP/AVP 0"));
    assert.equal(e.line, 6);
    assert.equal(
      e.message,
      'Cannot parse SDP line 6 "m=audio 70000 RTP/AVP 0": the port is not a number from 0 to 65535',
    );
    assert.equal(parseError(sdp(...HEAD, "m=audio x RTP/AVP 0")).line, 6);
    assert.equal(parseError(sdp(...HEAD, "m=audio 5004/0 RTP/AVP 0")).line, 6);
  });

  test("parseSdp() rejects an m= line without formats", () => {
    const e = parseError(sdp(...HEAD, "a=sendrecv", "m=audio 5004 RTP/AVP"));
    assert.equal(e.line, 7);
    assert.match(e.message, /the media line must be <media> <port> <proto> <fmt> \.\.\./);
  });

  test("parseSdp() rejects a media description without c= here or at session level", () => {
    const e = parseError(sdp(
      "v=0",
      "o=- 1 1 IN IP4 192.0.2.1",
      "s=-",
      "t=0 0",
      "m=audio 5004 RTP/AVP 0",
      "c=IN IP4 192.0.2.1",
      "m=video 5006 RTP/AVP 31",
      "a=sendrecv",
    ));
    assert.equal(e.line, 7);
    assert.equal(
      e.message,
      'Cannot parse SDP line 7 "m=video 5006 RTP/AVP 31": the connection line ("c=") is missing, here and at session level',
    );
  });

  test("parseSdp() rejects c= without an address", () => {
    const e = parseError(sdp("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4", "t=0 0"));
    assert.equal(e.line, 4);
    assert.equal(e.message, 'Cannot parse SDP line 4 "c=IN IP4": connection address is missing');
  });

  test("parseSdp() rejects missing o=, s= and t= lines with line 0", () => {
    const noOrigin = parseError(sdp("v=0", "s=-", "c=IN IP4 192.0.2.1", "t=0 0"));
    assert.equal(noOrigin.line, 0);
    assert.equal(noOrigin.message, 'Cannot parse SDP: the origin line ("o=") is missing');
    assert.equal(parseError(sdp("v=0", "o=- 1 1 IN IP4 192.0.2.1", "c=IN IP4 192.0.2.1", "t=0 0")).line, 0);
    const noTiming = parseError(sdp("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1"));
    assert.equal(noTiming.message, 'Cannot parse SDP: the timing line ("t=") is missing');
    assert.equal(parseError("").message, "Cannot parse SDP: the description is empty");
  });

  test("parseSdp() rejects malformed lines with their line numbers", () => {
    const cases: [string[], number, RegExp][] = [
      [["v=0", "O=- 1 1 IN IP4 192.0.2.1"], 2, /lowercase type letter/],
      [["v=0", "o=- 1 1 IN IP4 192.0.2.1", "", "s=-"], 3, /lowercase type letter/],
      [["v=0", "o=- 1 IN IP4 192.0.2.1"], 2, /the origin must be/],
      [["v=0", "o=- x 1 IN IP4 192.0.2.1"], 2, /session id is not a number/],
      [["v=0", "o=- 1 1 IN IP4 192.0.2.1", "o=- 1 1 IN IP4 192.0.2.1"], 3, /a second origin line/],
      [[...HEAD, "t=now 0"], 6, /the timing must be/],
      [["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "r=7d 1h 0"], 4, /must follow a "t=" line/],
      [[...HEAD, "b=AS"], 6, /the bandwidth must be/],
      [[...HEAD, "a=:x"], 6, /attribute name/],
      [[...HEAD, "m=audio 5004 RTP/AVP 0", "t=0 0"], 7, /"t=" is not allowed in a media description/],
      [[...HEAD, "m=audio 5004 RTP/AVP 0", "c=IN IP4 192.0.2.1", "c=IN IP4 192.0.2.2"], 8, /a second connection/],
    ];
    for (const [lines, line, pattern] of cases) {
      const e = parseError(sdp(...lines));
      assert.equal(e.line, line, lines.join(" | "));
      assert.match(e.message, pattern);
    }
  });
});
