/**
 * Checking an answer against our offer (RFC 3264 §6, §6.1).
 *
 * @module
 */

import type { MediaDescription, SdpDirection, SessionDescription } from "./sdp_types.ts";
import { getDirection, getRtpmap } from "./sdp_attributes.ts";
import { _isEncoding } from "./codecs.ts";

// RFC 3264 §6.1: which answer directions are allowed for each offered direction.
const ALLOWED_ANSWERS: Record<SdpDirection, readonly SdpDirection[]> = {
  sendrecv: ["sendrecv", "sendonly", "recvonly", "inactive"],
  sendonly: ["recvonly", "inactive"],
  recvonly: ["sendonly", "inactive"],
  inactive: ["inactive"],
};

/**
 * Checks an answer (e.g. from the ACK) against our offer (RFC 3264 §6): the same number of
 * m-lines with the same media types and transports in order; no stream accepted that was
 * offered with port 0; every accepted stream lists at least one of the offered formats (the
 * same payload type, or the same encoding under another number) and has a direction allowed
 * for the offered one (RFC 3264 §6.1). Additional formats in an accepted stream are allowed,
 * as RFC 3264 §6.1 allows them.
 *
 * @param offer The offer we sent.
 * @param answer The answer received.
 * @returns `undefined` if the answer is valid, otherwise what is wrong with it.
 * @example
 * ```ts
 * import { checkAnswer } from "@sipecho/sipecho/sdp";
 * import { parseSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const head = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n";
 * const offer = parseSdp(head + "m=audio 4000 RTP/AVP 0 8\n");
 * assert.equal(checkAnswer(offer, parseSdp(head + "m=audio 5000 RTP/AVP 8\n")), undefined);
 * assert.equal(
 *   checkAnswer(offer, parseSdp(head + "m=video 5000 RTP/AVP 31\n")),
 *   'm-line 1 is "video" in the answer but "audio" in the offer',
 * );
 * ```
 */
export function checkAnswer(offer: SessionDescription, answer: SessionDescription): string | undefined {
  if (answer.media.length !== offer.media.length) {
    return `the answer has ${answer.media.length} m-lines, the offer ${offer.media.length}`;
  }
  for (let i = 0; i < offer.media.length; i++) {
    const problem = _checkAnsweredStream(offer, offer.media[i], answer, answer.media[i]);
    if (problem !== undefined) return `m-line ${i + 1} ${problem}`;
  }
  return undefined;
}

function _checkAnsweredStream(
  offer: SessionDescription,
  offered: MediaDescription,
  answer: SessionDescription,
  answered: MediaDescription,
): string | undefined {
  if (answered.media !== offered.media) {
    return `is "${answered.media}" in the answer but "${offered.media}" in the offer`;
  }
  if (answered.proto !== offered.proto) {
    return `is "${answered.proto}" in the answer but "${offered.proto}" in the offer`;
  }
  if (answered.port === 0) return undefined;
  if (offered.port === 0) return "was offered with port 0 but is accepted in the answer";
  if (!answered.formats.some((f) => _isOfferedFormat(offered, answered, f))) {
    return `lists none of the offered formats (${offered.formats.join(" ")})`;
  }
  const offeredDirection = getDirection(offer, offered);
  const answeredDirection = getDirection(answer, answered);
  if (!ALLOWED_ANSWERS[offeredDirection].includes(answeredDirection)) {
    return `is ${answeredDirection} in the answer, which cannot answer ${offeredDirection}`;
  }
  return undefined;
}

function _isOfferedFormat(offered: MediaDescription, answered: MediaDescription, format: string): boolean {
  const codec = getRtpmap(answered, format);
  if (codec === undefined) return offered.formats.includes(format);
  return offered.formats.some((f) => {
    const rtpmap = getRtpmap(offered, f);
    return rtpmap !== undefined && _isEncoding(rtpmap, codec.encodingName, codec.clockRate, codec.channels);
  });
}
