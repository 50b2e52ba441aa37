import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type Codec, DEFAULT_CODECS } from "../../src/media/codecs.ts";
import { formatSdp } from "../../src/media/format_sdp.ts";
import { createOffer } from "../../src/media/offer.ts";
import { parseSdp } from "../../src/media/parse_sdp.ts";
import { getFmtp } from "../../src/media/sdp_attributes.ts";
import { sdp } from "./_sdp.ts";

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
