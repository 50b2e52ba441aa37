import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { formatSdp } from "../../src/media/format_sdp.ts";
import { parseSdp } from "../../src/media/parse_sdp.ts";
import { sdp, SOFTPHONE_OFFER } from "./_sdp.ts";

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
