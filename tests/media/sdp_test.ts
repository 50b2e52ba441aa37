import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type AnswerOptions,
  answerSdp,
  checkAnswer,
  type Codec,
  createOffer,
  DEFAULT_CODECS,
  formatSdp,
  getDirection,
  getFmtp,
  getPtime,
  getRtpmap,
  hasRtcpMux,
  type MediaDescription,
  parseSdp,
  type SdpAnswerResult,
  SdpError,
  type SessionDescription,
} from "../../src/media/sdp.ts";

/** Joins lines with CRLF and ends the last one. */
function sdp(...lines: string[]): string {
  return lines.map((line) => line + "\r\n").join("");
}

const HEAD = ["v=0", "o=alice 2890844526 2890844527 IN IP4 192.0.2.10", "s=Talk", "c=IN IP4 192.0.2.10", "t=0 0"];

const SOFTPHONE_OFFER = sdp(
  ...HEAD,
  "m=audio 49170 RTP/AVP 0 8 101",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-16",
  "a=ptime:20",
  "a=sendrecv",
);

const OPTIONS: AnswerOptions = {
  address: "198.51.100.1",
  rtpPort: (index) => 20000 + 2 * index,
  sessionId: 1000,
  sessionVersion: "1",
};

function offerWith(...mediaLines: string[]): SessionDescription {
  return parseSdp(sdp(...HEAD, ...mediaLines));
}

function answered(result: SdpAnswerResult): SessionDescription {
  assert.ok(result.ok, "expected an answer");
  return result.answer;
}

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

function attributeNames(media: MediaDescription): string[] {
  return media.attributes.map((a) => a.value === undefined ? a.name : `${a.name}:${a.value}`);
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

describe("formatSdp()", () => {
  test("formatSdp() writes CRLF lines in RFC 4566 §5 order", () => {
    const sd = parseSdp(
      [
        "v=0",
        "o=- 1 1 IN IP4 192.0.2.1",
        "s=-",
        "a=tool:x",
        "t=0 0",
        "e=ops@example.com",
        "c=IN IP4 192.0.2.1",
        "i=info",
        "m=audio 5004 RTP/AVP 0",
        "a=sendrecv",
        "b=AS:64",
        "i=voice",
      ].join("\n"),
    );
    assert.equal(
      formatSdp(sd),
      sdp(
        "v=0",
        "o=- 1 1 IN IP4 192.0.2.1",
        "s=-",
        "i=info",
        "e=ops@example.com",
        "c=IN IP4 192.0.2.1",
        "t=0 0",
        "a=tool:x",
        "m=audio 5004 RTP/AVP 0",
        "i=voice",
        "b=AS:64",
        "a=sendrecv",
      ),
    );
  });

  test("formatSdp() round-trips through parseSdp()", () => {
    const samples = [
      SOFTPHONE_OFFER,
      sdp(
        "v=0",
        "o=- 1 1 IN IP4 192.0.2.1",
        "s=-",
        "k=prompt",
        "e=a@example.com",
        "i=info",
        "c=IN IP4 192.0.2.1",
        "t=0 0",
      ),
      sdp(
        "v=0",
        "o=- 1 1 IN IP4 192.0.2.1",
        "s= ",
        "u=http://example.com/",
        "p=+1 555 0100",
        "c=IN IP4 224.2.1.1/127/3",
        "b=CT:128",
        "t=3034423619 3042462419",
        "r=604800 3600 0 90000",
        "t=0 0",
        "z=2882844526 -1h",
        "k=prompt",
        "y=unknown",
        "a=recvonly",
        "m=audio 49170/2 RTP/AVP 0 96",
        "i=voice",
        "c=IN IP6 ff15::101/3",
        "b=AS:64",
        "k=clear:x",
        "a=rtpmap:96 opus/48000/2",
        "a=rtcp-mux",
        "m=video 0 RTP/AVP 31",
        "c=IN IP6 2001:db8::7",
      ),
    ];
    for (const text of samples) {
      const parsed = parseSdp(text);
      const written = formatSdp(parsed);
      assert.deepEqual(parseSdp(written), parsed);
      assert.equal(formatSdp(parseSdp(written)), written);
    }
    assert.equal(formatSdp(parseSdp(SOFTPHONE_OFFER)), SOFTPHONE_OFFER);
  });
});

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

describe("answerSdp()", () => {
  test("answerSdp() answers a softphone offer exactly", () => {
    const result = answerSdp(parseSdp(SOFTPHONE_OFFER), OPTIONS);
    assert.equal(
      formatSdp(answered(result)),
      sdp(
        "v=0",
        "o=- 1000 1 IN IP4 198.51.100.1",
        "s=-",
        "c=IN IP4 198.51.100.1",
        "t=0 0",
        "m=audio 20000 RTP/AVP 0 8 101",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-16",
        "a=ptime:20",
        "a=sendrecv",
      ),
    );
    assert.ok(result.ok);
    assert.deepEqual(result.accepted, [{
      index: 0,
      media: "audio",
      port: 20000,
      formats: ["0", "8", "101"],
      rtcpMux: false,
      direction: "sendrecv",
      remoteAddress: "192.0.2.10",
      remotePort: 49170,
    }]);
  });

  test("answerSdp() keeps the offer's order and payload type numbers", () => {
    const offer = offerWith(
      "m=audio 5004 RTP/AVP 8 18 111 0 100",
      "a=rtpmap:111 opus/48000/2",
      "a=fmtp:111 minptime=10;useinbandfec=1",
      "a=rtpmap:100 telephone-event/8000",
    );
    const [audio] = answered(answerSdp(offer, OPTIONS)).media;
    assert.deepEqual(audio.formats, ["8", "111", "0", "100"]);
    assert.deepEqual(attributeNames(audio), [
      "rtpmap:111 opus/48000/2",
      "fmtp:111 minptime=10;useinbandfec=1",
      "rtpmap:100 telephone-event/8000",
      "sendrecv",
    ]);
  });

  test("answerSdp() matches dynamic payload types by encoding name, clock rate and channels", () => {
    const offer = offerWith(
      "m=audio 5004 RTP/AVP 96 97 98 99 120",
      "a=rtpmap:96 OPUS/48000/2",
      "a=rtpmap:97 opus/48000",
      "a=rtpmap:98 telephone-event/16000",
      "a=rtpmap:99 PCMU/16000",
      "a=rtpmap:120 Telephone-Event/8000",
    );
    const [audio] = answered(answerSdp(offer, OPTIONS)).media;
    assert.deepEqual(audio.formats, ["96", "120"]);
    assert.deepEqual(attributeNames(audio), ["rtpmap:96 OPUS/48000/2", "rtpmap:120 Telephone-Event/8000", "sendrecv"]);
  });

  test("answerSdp() drops a dynamic payload type without rtpmap", () => {
    const [audio] = answered(answerSdp(offerWith("m=audio 5004 RTP/AVP 96 0"), OPTIONS)).media;
    assert.deepEqual(audio.formats, ["0"]);
  });

  test("answerSdp() matches static payload types by number without rtpmap", () => {
    const offer = offerWith("m=audio 5004 RTP/AVP 3 9 18 8");
    const result = answerSdp(offer, OPTIONS);
    const [audio] = answered(result).media;
    assert.deepEqual(audio.formats, ["9", "8"]);
    assert.deepEqual(attributeNames(audio), ["sendrecv"]);
  });

  test("answerSdp() tells static payload types apart by channels", () => {
    const offer = offerWith("m=audio 5004 RTP/AVP 11 10");
    const codecs = [{ name: "L16", clockRate: 44100, channels: 2 }];
    assert.deepEqual(answered(answerSdp(offer, { ...OPTIONS, codecs })).media[0].formats, ["10"]);
  });

  test("answerSdp() rejects a stream with no common codec with port 0", () => {
    const offer = offerWith(
      "m=audio 5004 RTP/AVP 0",
      "m=video 5006 RTP/AVP 96 31",
      "a=rtpmap:96 H264/90000",
      "a=fmtp:96 profile-level-id=42e01f",
    );
    const result = answerSdp(offer, OPTIONS);
    const answer = answered(result);
    assert.equal(answer.media.length, 2);
    assert.deepEqual(answer.media[1], {
      media: "video",
      port: 0,
      proto: "RTP/AVP",
      formats: ["96", "31"],
      bandwidths: [],
      attributes: [],
      otherLines: [],
    });
    assert.ok(result.ok);
    assert.deepEqual(result.accepted.map((s) => s.index), [0]);
    assert.ok(formatSdp(answer).endsWith("\r\nm=video 0 RTP/AVP 96 31\r\n"));
  });

  test("answerSdp() rejects a stream offered with port 0", () => {
    let calls = 0;
    const offer = offerWith("m=audio 0 RTP/AVP 0", "m=audio 5006 RTP/AVP 8");
    const result = answerSdp(offer, { ...OPTIONS, rtpPort: () => 30000 + calls++ });
    const answer = answered(result);
    assert.equal(answer.media[0].port, 0);
    assert.deepEqual(answer.media[0].formats, ["0"]);
    assert.equal(answer.media[1].port, 30000);
    assert.equal(calls, 1);
  });

  test("answerSdp() rejects a stream with a transport other than RTP", () => {
    const offer = offerWith("m=image 5008 udptl t38", "m=audio 5004 RTP/SAVP 0", "m=audio 5006 TCP/RTP/AVP 0");
    const answer = answered(answerSdp(offer, OPTIONS));
    assert.deepEqual(answer.media.map((m) => `${m.media} ${m.port} ${m.proto} ${m.formats}`), [
      "image 0 udptl t38",
      "audio 20002 RTP/SAVP 0",
      "audio 0 TCP/RTP/AVP 0",
    ]);
  });

  test("answerSdp() rejects a stream whose only common format is telephone-event", () => {
    const offer = offerWith(
      "m=audio 5004 RTP/AVP 18 101",
      "a=rtpmap:101 telephone-event/8000",
      "m=audio 5006 RTP/AVP 0",
    );
    const answer = answered(answerSdp(offer, OPTIONS));
    assert.equal(answer.media[0].port, 0);
    assert.equal(answer.media[1].port, 20002);
  });

  test("answerSdp() returns 488 when no stream is acceptable", () => {
    const offer = offerWith("m=audio 5004 RTP/AVP 18", "m=video 0 RTP/AVP 31");
    assert.deepEqual(answerSdp(offer, OPTIONS), {
      ok: false,
      status: 488,
      reason: "Not Acceptable Here: no common codec in any m-line",
    });
  });

  test("answerSdp() answers an offer without m-lines with none", () => {
    const result = answerSdp(parseSdp(sdp(...HEAD)), OPTIONS);
    assert.ok(result.ok);
    assert.deepEqual(result.answer.media, []);
    assert.deepEqual(result.accepted, []);
  });

  const mirrored: [string, string][] = [
    ["sendrecv", "sendrecv"],
    ["sendonly", "recvonly"],
    ["recvonly", "sendonly"],
    ["inactive", "inactive"],
  ];
  for (const [offered, expected] of mirrored) {
    test(`answerSdp() answers ${offered} with ${expected}`, () => {
      const result = answerSdp(offerWith("m=audio 5004 RTP/AVP 0", `a=${offered}`), OPTIONS);
      const [audio] = answered(result).media;
      assert.deepEqual(audio.attributes.at(-1), { name: expected });
      assert.ok(result.ok);
      assert.equal(result.accepted[0].direction, expected);
    });
  }

  test("answerSdp() writes sendrecv when the offer has no direction", () => {
    const [audio] = answered(answerSdp(offerWith("m=audio 5004 RTP/AVP 0"), OPTIONS)).media;
    assert.deepEqual(audio.attributes, [{ name: "sendrecv" }]);
  });

  test("answerSdp() mirrors a session-level direction on each m-line", () => {
    const offer = parseSdp(
      sdp(...HEAD, "a=sendonly", "m=audio 5004 RTP/AVP 0", "m=audio 5006 RTP/AVP 0", "a=inactive"),
    );
    const answer = answered(answerSdp(offer, OPTIONS));
    assert.deepEqual(answer.attributes, []);
    assert.deepEqual(answer.media.map((m) => m.attributes.at(-1)?.name), ["recvonly", "inactive"]);
  });

  test("answerSdp() mirrors a=rtcp-mux", () => {
    const offer = offerWith("m=audio 5004 RTP/AVP 0", "a=rtcp-mux", "m=audio 5006 RTP/AVP 0");
    const result = answerSdp(offer, OPTIONS);
    const answer = answered(result);
    assert.deepEqual(attributeNames(answer.media[0]), ["rtcp-mux", "sendrecv"]);
    assert.deepEqual(attributeNames(answer.media[1]), ["sendrecv"]);
    assert.ok(result.ok);
    assert.deepEqual(result.accepted.map((s) => s.rtcpMux), [true, false]);
  });

  test("answerSdp() accepts video only when a video codec is configured", () => {
    const offer = parseSdp(sdp(
      "v=0",
      "o=- 1 1 IN IP4 192.0.2.1",
      "s=-",
      "t=0 0",
      "m=audio 5004 RTP/AVP 0",
      "c=IN IP4 192.0.2.1",
      "m=video 5006 RTP/AVPF 96",
      "c=IN IP6 2001:db8::7",
      "a=rtpmap:96 VP8/90000",
    ));
    assert.equal(answered(answerSdp(offer, OPTIONS)).media[1].port, 0);
    const codecs: Codec[] = [...DEFAULT_CODECS, { name: "VP8", clockRate: 90000, media: "video" }];
    const result = answerSdp(offer, { ...OPTIONS, codecs });
    assert.ok(result.ok);
    assert.deepEqual(result.answer.media[1].formats, ["96"]);
    assert.equal(result.answer.media[1].proto, "RTP/AVPF");
    assert.deepEqual(
      result.accepted.map((s) => [s.media, s.port, s.remoteAddress, s.remotePort]),
      [["audio", 20000, "192.0.2.1", 5004], ["video", 20002, "2001:db8::7", 5006]],
    );
  });

  test("answerSdp() does not accept an audio codec on a video m-line", () => {
    const offer = offerWith("m=video 5006 RTP/AVP 0", "m=audio 5004 RTP/AVP 0");
    const answer = answered(answerSdp(offer, OPTIONS));
    assert.deepEqual(answer.media.map((m) => m.port), [0, 20002]);
  });

  test("answerSdp() writes IN IP6 for an IPv6 address and copies t= from the offer", () => {
    const offer = parseSdp(sdp(
      "v=0",
      "o=- 1 1 IN IP4 192.0.2.1",
      "s=-",
      "c=IN IP4 192.0.2.1",
      "t=3034423619 3042462419",
      "r=604800 3600 0",
      "m=audio 5004 RTP/AVP 0",
    ));
    const options = { ...OPTIONS, address: "[2001:db8::1]", username: "echo", sessionName: "Echo" };
    const answer = answered(answerSdp(offer, options));
    assert.deepEqual(answer.origin, {
      username: "echo",
      sessionId: "1000",
      sessionVersion: "1",
      netType: "IN",
      addrType: "IP6",
      address: "2001:db8::1",
    });
    assert.deepEqual(answer.connection, { netType: "IN", addrType: "IP6", address: "2001:db8::1" });
    assert.equal(answer.sessionName, "Echo");
    assert.deepEqual(answer.timing, offer.timing);
    assert.notEqual(answer.timing, offer.timing);
  });

  test("answerSdp() passes the m-line index and offered media to rtpPort", () => {
    const seen: [number, string][] = [];
    const offer = offerWith("m=audio 5004 RTP/AVP 18", "m=audio 5006 RTP/AVP 0", "m=audio 5008 RTP/AVP 8");
    answerSdp(offer, { ...OPTIONS, rtpPort: (index, media) => (seen.push([index, media.formats[0]]), 40000) });
    assert.deepEqual(seen, [[1, "0"], [2, "8"]]);
  });

  test("answerSdp() throws on invalid options", () => {
    const offer = parseSdp(SOFTPHONE_OFFER);
    assert.throws(() => answerSdp(offer, { ...OPTIONS, rtpPort: () => 0 }), RangeError);
    assert.throws(() => answerSdp(offer, { ...OPTIONS, rtpPort: () => 65536 }), RangeError);
    assert.throws(() => answerSdp(offer, { ...OPTIONS, sessionId: -1 }), TypeError);
    assert.throws(() => answerSdp(offer, { ...OPTIONS, sessionVersion: "1a" }), TypeError);
    assert.throws(() => answerSdp(offer, { ...OPTIONS, address: "" }), TypeError);
    assert.throws(() => answerSdp(offer, { ...OPTIONS, sessionName: "x\r\na=evil" }), TypeError);
  });
});

describe("createOffer()", () => {
  test("createOffer() offers the audio codecs, static by number and dynamic from 96", () => {
    const codecs: Codec[] = [...DEFAULT_CODECS, { name: "VP8", clockRate: 90000, media: "video" }];
    const offer = createOffer({ address: "192.0.2.1", port: 30000, sessionId: 5, sessionVersion: 6, codecs });
    assert.equal(
      formatSdp(offer),
      sdp(
        "v=0",
        "o=- 5 6 IN IP4 192.0.2.1",
        "s=-",
        "c=IN IP4 192.0.2.1",
        "t=0 0",
        "m=audio 30000 RTP/AVP 0 8 9 96 97",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:9 G722/8000",
        "a=rtpmap:96 opus/48000/2",
        "a=rtpmap:97 telephone-event/8000",
        "a=fmtp:97 0-16",
        "a=sendrecv",
      ),
    );
    assert.deepEqual(parseSdp(formatSdp(offer)), offer);
  });

  test("createOffer() gives telephone-event fmtp 0-16 unless the codec sets one", () => {
    const offer = createOffer({
      address: "192.0.2.1",
      port: 30000,
      sessionId: 5,
      sessionVersion: 6,
      codecs: [{ name: "PCMA", clockRate: 8000 }, { name: "telephone-event", clockRate: 8000, fmtp: "0-15" }],
    });
    assert.equal(getFmtp(offer.media[0], "96"), "0-15");
    const byDefault = createOffer({ address: "192.0.2.1", port: 30000, sessionId: 5, sessionVersion: 6 });
    assert.equal(getFmtp(byDefault.media[0], "97"), "0-16");
    const capitalised = createOffer({
      address: "192.0.2.1",
      port: 30000,
      sessionId: 5,
      sessionVersion: 6,
      codecs: [{ name: "PCMU", clockRate: 8000 }, { name: "Telephone-Event", clockRate: 8000 }],
    });
    assert.equal(getFmtp(capitalised.media[0], "96"), "0-16");
  });

  test("createOffer() throws without an audio codec or with a bad port", () => {
    const base = { address: "192.0.2.1", port: 30000, sessionId: 5, sessionVersion: 6 };
    assert.throws(() => createOffer({ ...base, codecs: [] }), RangeError);
    assert.throws(() => createOffer({ ...base, port: 0 }), RangeError);
  });
});

describe("checkAnswer()", () => {
  const offer = createOffer({ address: "198.51.100.1", port: 30000, sessionId: 1, sessionVersion: 1 });
  const answerFrom = (...mediaLines: string[]) => parseSdp(sdp(...HEAD, ...mediaLines));

  test("checkAnswer() accepts a good answer", () => {
    assert.equal(
      checkAnswer(offer, answerFrom("m=audio 5004 RTP/AVP 8 97", "a=rtpmap:97 telephone-event/8000")),
      undefined,
    );
    const result = answerSdp(offer, OPTIONS);
    assert.ok(result.ok);
    assert.equal(checkAnswer(offer, result.answer), undefined);
  });

  test("checkAnswer() accepts a renumbered codec, extra formats and a rejected stream", () => {
    assert.equal(checkAnswer(offer, answerFrom("m=audio 5004 RTP/AVP 111 18", "a=rtpmap:111 opus/48000/2")), undefined);
    assert.equal(checkAnswer(offer, answerFrom("m=audio 0 RTP/AVP 18")), undefined);
  });

  test("checkAnswer() rejects an answer with a different number of m-lines", () => {
    assert.equal(
      checkAnswer(offer, answerFrom("m=audio 5004 RTP/AVP 0", "m=audio 5006 RTP/AVP 0")),
      "the answer has 2 m-lines, the offer 1",
    );
  });

  test("checkAnswer() rejects an answer with another media type or transport", () => {
    assert.equal(
      checkAnswer(offer, answerFrom("m=video 5004 RTP/AVP 31")),
      'm-line 1 is "video" in the answer but "audio" in the offer',
    );
    assert.equal(
      checkAnswer(offer, answerFrom("m=audio 5004 RTP/SAVP 0")),
      'm-line 1 is "RTP/SAVP" in the answer but "RTP/AVP" in the offer',
    );
  });

  test("checkAnswer() rejects an accepted stream with none of the offered formats", () => {
    assert.equal(
      checkAnswer(offer, answerFrom("m=audio 5004 RTP/AVP 18 96", "a=rtpmap:96 opus/48000")),
      "m-line 1 lists none of the offered formats (0 8 9 96 97)",
    );
  });

  test("checkAnswer() rejects a direction that cannot answer the offered one", () => {
    const sendonly = parseSdp(formatSdp(offer).replace("a=sendrecv", "a=sendonly"));
    assert.equal(checkAnswer(sendonly, answerFrom("m=audio 5004 RTP/AVP 0", "a=recvonly")), undefined);
    assert.equal(
      checkAnswer(sendonly, answerFrom("m=audio 5004 RTP/AVP 0", "a=sendonly")),
      "m-line 1 is sendonly in the answer, which cannot answer sendonly",
    );
    assert.equal(
      checkAnswer(sendonly, answerFrom("m=audio 5004 RTP/AVP 0")),
      "m-line 1 is sendrecv in the answer, which cannot answer sendonly",
    );
  });

  test("checkAnswer() rejects accepting a stream offered with port 0", () => {
    const disabled = parseSdp(formatSdp(offer).replace("m=audio 30000", "m=audio 0"));
    assert.equal(
      checkAnswer(disabled, answerFrom("m=audio 5004 RTP/AVP 0")),
      "m-line 1 was offered with port 0 but is accepted in the answer",
    );
  });
});
