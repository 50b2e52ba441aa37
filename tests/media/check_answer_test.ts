import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { answerSdp } from "../../src/media/answer.ts";
import { checkAnswer } from "../../src/media/check_answer.ts";
import { formatSdp } from "../../src/media/format_sdp.ts";
import { createOffer } from "../../src/media/offer.ts";
import { parseSdp } from "../../src/media/parse_sdp.ts";
import { HEAD, OPTIONS, sdp } from "./_sdp.ts";

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
