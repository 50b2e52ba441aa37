import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as sdp from "../../src/media/sdp.ts";
import { answerSdp } from "../../src/media/answer.ts";
import { checkAnswer } from "../../src/media/check_answer.ts";
import { DEFAULT_CODECS } from "../../src/media/codecs.ts";
import { formatSdp } from "../../src/media/format_sdp.ts";
import { createOffer } from "../../src/media/offer.ts";
import { parseSdp } from "../../src/media/parse_sdp.ts";
import { getDirection, getFmtp, getPtime, getRtpmap, hasRtcpMux } from "../../src/media/sdp_attributes.ts";
import { SdpError } from "../../src/media/sdp_types.ts";

describe("src/media/sdp.ts", () => {
  test("sdp.ts exports the functions and values of the SDP modules, and only those", () => {
    const expected: Record<string, unknown> = {
      answerSdp,
      checkAnswer,
      createOffer,
      DEFAULT_CODECS,
      formatSdp,
      getDirection,
      getFmtp,
      getPtime,
      getRtpmap,
      hasRtcpMux,
      parseSdp,
      SdpError,
    };
    assert.deepEqual(Object.keys(sdp).sort(), Object.keys(expected).sort());
    for (const [name, value] of Object.entries(expected)) {
      assert.equal((sdp as Record<string, unknown>)[name], value, name);
    }
  });
});
