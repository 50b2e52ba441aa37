import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { answerSdp } from "../../src/media/answer.ts";
import { type Codec, DEFAULT_CODECS } from "../../src/media/codecs.ts";
import { formatSdp } from "../../src/media/format_sdp.ts";
import { parseSdp } from "../../src/media/parse_sdp.ts";
import { answered, attributeNames, HEAD, offerWith, OPTIONS, sdp, SOFTPHONE_OFFER } from "./_sdp.ts";

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

  test("answerSdp() keeps telephone-event at the clock rate of a media codec it keeps (RFC 4733 §2.1)", () => {
    const offer = offerWith(
      "m=audio 5004 RTP/AVP 111 0 101 102 103",
      "a=rtpmap:111 opus/48000/2",
      "a=rtpmap:101 telephone-event/48000",
      "a=fmtp:101 0-15",
      "a=rtpmap:102 telephone-event/8000",
      "a=rtpmap:103 telephone-event/16000",
    );
    const [audio] = answered(answerSdp(offer, OPTIONS)).media;
    // 103: no media codec at 16000 Hz in the answer.
    assert.deepEqual(audio.formats, ["111", "0", "101", "102"]);
    assert.deepEqual(attributeNames(audio), [
      "rtpmap:111 opus/48000/2",
      "rtpmap:101 telephone-event/48000",
      "fmtp:101 0-15",
      "rtpmap:102 telephone-event/8000",
      "sendrecv",
    ]);
  });

  test("answerSdp() takes no telephone-event at another rate when it has no telephone-event codec", () => {
    const offer = offerWith(
      "m=audio 5004 RTP/AVP 111 101",
      "a=rtpmap:111 opus/48000/2",
      "a=rtpmap:101 telephone-event/48000",
    );
    const codecs = [{ name: "opus", clockRate: 48000, channels: 2 }];
    assert.deepEqual(answered(answerSdp(offer, { ...OPTIONS, codecs })).media[0].formats, ["111"]);
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
