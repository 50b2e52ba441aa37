import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  _isEncoding,
  _isMediaCodec,
  _isRtpProtocol,
  _staticPayloadType,
  _staticRtpmap,
  DEFAULT_CODECS,
} from "../../src/media/codecs.ts";

describe("codecs", () => {
  test("DEFAULT_CODECS cannot be changed", () => {
    assert.ok(Object.isFrozen(DEFAULT_CODECS));
    assert.ok(DEFAULT_CODECS.every((c) => Object.isFrozen(c)));
  });

  test("_isEncoding() compares the name in any case, the clock rate and the channels (absent: 1)", () => {
    const opus = { payloadType: 111, encodingName: "OPUS", clockRate: 48000, channels: 2 };
    assert.equal(_isEncoding(opus, "opus", 48000, 2), true);
    assert.equal(_isEncoding(opus, "opus", 48000), false);
    assert.equal(_isEncoding(opus, "opus", 16000, 2), false);
    const pcmu = { payloadType: 0, encodingName: "PCMU", clockRate: 8000 };
    assert.equal(_isEncoding(pcmu, "pcmu", 8000), true);
    assert.equal(_isEncoding(pcmu, "PCMU", 8000, 1), true);
    assert.equal(_isEncoding(pcmu, "PCMA", 8000), false);
  });

  test("_staticPayloadType() finds the RFC 3551 number by encoding, clock rate, channels and media", () => {
    assert.equal(_staticPayloadType({ name: "pcma", clockRate: 8000 }), 8);
    assert.equal(_staticPayloadType({ name: "L16", clockRate: 44100, channels: 2 }), 10);
    assert.equal(_staticPayloadType({ name: "L16", clockRate: 44100 }), 11);
    assert.equal(_staticPayloadType({ name: "H261", clockRate: 90000, media: "video" }), 31);
    assert.equal(_staticPayloadType({ name: "H261", clockRate: 90000 }), undefined, "not an audio codec");
    assert.equal(_staticPayloadType({ name: "opus", clockRate: 48000, channels: 2 }), undefined);
    assert.deepEqual(_staticRtpmap(6), { payloadType: 6, encodingName: "DVI4", clockRate: 16000 });
    assert.equal(_staticRtpmap(96), undefined);
  });

  test("_isMediaCodec() is false for DTMF events and comfort noise only", () => {
    const rtpmap = (encodingName: string) => ({ payloadType: 96, encodingName, clockRate: 8000 });
    assert.equal(_isMediaCodec(rtpmap("Telephone-Event")), false);
    assert.equal(_isMediaCodec(rtpmap("CN")), false);
    assert.equal(_isMediaCodec(rtpmap("G722")), true);
  });

  test("_isRtpProtocol() knows the RTP profiles in any case", () => {
    for (const proto of ["RTP/AVP", "rtp/avpf", "RTP/SAVP", "RTP/SAVPF", "UDP/TLS/RTP/SAVPF"]) {
      assert.equal(_isRtpProtocol(proto), true, proto);
    }
    for (const proto of ["udptl", "TCP/RTP/AVP", "RTP/AVP ", "TCP/MSRP"]) {
      assert.equal(_isRtpProtocol(proto), false, proto);
    }
  });
});
