// SDP texts and helpers shared by the SDP tests.
import assert from "node:assert/strict";
import type { AnswerOptions, SdpAnswerResult } from "../../src/media/answer.ts";
import { parseSdp } from "../../src/media/parse_sdp.ts";
import type { MediaDescription, SessionDescription } from "../../src/media/sdp_types.ts";

/** Joins lines with CRLF and ends the last one. */
export function sdp(...lines: string[]): string {
  return lines.map((line) => line + "\r\n").join("");
}

/** The session-level lines of an offer, up to the first m= line. */
export const HEAD = [
  "v=0",
  "o=alice 2890844526 2890844527 IN IP4 192.0.2.10",
  "s=Talk",
  "c=IN IP4 192.0.2.10",
  "t=0 0",
];

/** A softphone's offer: PCMU, PCMA and DTMF, 20 ms packets. */
export const SOFTPHONE_OFFER = sdp(
  ...HEAD,
  "m=audio 49170 RTP/AVP 0 8 101",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-16",
  "a=ptime:20",
  "a=sendrecv",
);

/** Answer options: our address, RTP ports 20000, 20002, ... by m-line. */
export const OPTIONS: AnswerOptions = {
  address: "198.51.100.1",
  rtpPort: (index) => 20000 + 2 * index,
  sessionId: 1000,
  sessionVersion: "1",
};

/** {@linkcode HEAD} with these media lines, parsed. */
export function offerWith(...mediaLines: string[]): SessionDescription {
  return parseSdp(sdp(...HEAD, ...mediaLines));
}

/** The answer of a result that must have one. */
export function answered(result: SdpAnswerResult): SessionDescription {
  assert.ok(result.ok, "expected an answer");
  return result.answer;
}

/** The attributes of a media description as written after `a=`. */
export function attributeNames(media: MediaDescription): string[] {
  return media.attributes.map((a) => a.value === undefined ? a.name : `${a.name}:${a.value}`);
}
