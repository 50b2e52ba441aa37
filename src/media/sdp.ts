/**
 * SDP: reading and writing session descriptions (RFC 4566) and the offer/answer model
 * (RFC 3264) for a SIP UAS that echoes media back to the caller.
 *
 * The modules are pure: no runtime APIs, no clock, no randomness. Session ids, versions and
 * RTP ports are passed in by the caller. This module gathers them:
 *
 * - `sdp_types.ts`: the model ({@linkcode SessionDescription}, ...) and {@linkcode SdpError};
 * - `parse_sdp.ts`: {@linkcode parseSdp}; `format_sdp.ts`: {@linkcode formatSdp};
 * - `sdp_attributes.ts`: {@linkcode getRtpmap}, {@linkcode getFmtp}, {@linkcode getDirection},
 *   {@linkcode hasRtcpMux}, {@linkcode getPtime};
 * - `codecs.ts`: {@linkcode Codec}, {@linkcode DEFAULT_CODECS}, the RFC 3551 static payload types;
 * - `answer.ts`: {@linkcode answerSdp}; `offer.ts`: {@linkcode createOffer};
 *   `check_answer.ts`: {@linkcode checkAnswer}.
 *
 * @example
 * ```ts
 * import { answerSdp, formatSdp, parseSdp } from "./sdp.ts";
 * import assert from "node:assert/strict";
 *
 * const offer = parseSdp("v=0\no=- 1 1 IN IP4 192.0.2.10\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\nm=audio 49170 RTP/AVP 8\n");
 * const result = answerSdp(offer, { address: "192.0.2.1", rtpPort: () => 20000, sessionId: 2, sessionVersion: 2 });
 * assert.ok(result.ok);
 * assert.match(formatSdp(result.answer), /^m=audio 20000 RTP\/AVP 8\r$/m);
 * ```
 *
 * @module
 */

export {
  type MediaDescription,
  type RtpMap,
  type SdpAttribute,
  type SdpBandwidth,
  type SdpConnection,
  type SdpDirection,
  SdpError,
  type SdpLine,
  type SdpOrigin,
  type SdpTiming,
  type SessionDescription,
} from "./sdp_types.ts";
export { parseSdp } from "./parse_sdp.ts";
export { formatSdp } from "./format_sdp.ts";
export { getDirection, getFmtp, getPtime, getRtpmap, hasRtcpMux } from "./sdp_attributes.ts";
export { type Codec, DEFAULT_CODECS } from "./codecs.ts";
export { type AcceptedStream, type AnswerOptions, answerSdp, type SdpAnswerResult } from "./answer.ts";
export { createOffer, type OfferOptions } from "./offer.ts";
export { checkAnswer } from "./check_answer.ts";
