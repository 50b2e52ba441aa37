/**
 * Reading the attributes of a media description (RFC 4566 §6): what a payload type is
 * (`a=rtpmap`), its parameters (`a=fmtp`), the direction, `a=rtcp-mux` (RFC 5761) and
 * `a=ptime`.
 *
 * @module
 */

import type { MediaDescription, RtpMap, SdpAttribute, SdpDirection, SessionDescription } from "./sdp_types.ts";
import { _DIGITS, _firstFieldIs } from "./sdp_grammar.ts";
import { _staticRtpmap } from "./codecs.ts";

/** Whether an attribute is named `name` (lower case), in any case (RFC 4566 §5.13). */
function _isNamed(attribute: SdpAttribute, name: string): boolean {
  return attribute.name.length === name.length && attribute.name.toLowerCase() === name;
}

/** The first attribute of a media description named `name` (lower case), in any case. */
export function _attribute(media: MediaDescription, name: string): SdpAttribute | undefined {
  return media.attributes.find((a) => _isNamed(a, name));
}

/** The attributes named `name` whose value starts with the format: `a=rtpmap:<format> ...`. */
export function _formatAttributes(media: MediaDescription, name: string, format: string): SdpAttribute[] {
  const found: SdpAttribute[] = [];
  for (const a of media.attributes) {
    if (a.value !== undefined && _isNamed(a, name) && _firstFieldIs(a.value, format)) found.push(a);
  }
  return found;
}

/**
 * The encoding of an RTP payload type in a media description: its `a=rtpmap` line
 * (RFC 4566 §6), or for a static payload type without one, the RFC 3551 §6 assignment.
 *
 * @param media The media description.
 * @param format The format (payload type) as written on the `m=` line.
 * @returns The encoding, or `undefined` if the payload type has no valid `a=rtpmap` line and is
 *   not statically assigned.
 * @example
 * ```ts
 * import { getRtpmap } from "@sipecho/sipecho/sdp";
 * import { parseSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const sd = parseSdp(
 *   "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n" +
 *     "m=audio 4000 RTP/AVP 8 111\na=rtpmap:111 opus/48000/2\n",
 * );
 * assert.deepEqual(getRtpmap(sd.media[0], "8"), { payloadType: 8, encodingName: "PCMA", clockRate: 8000 });
 * assert.deepEqual(getRtpmap(sd.media[0], "111"), {
 *   payloadType: 111,
 *   encodingName: "opus",
 *   clockRate: 48000,
 *   channels: 2,
 * });
 * ```
 */
export function getRtpmap(media: MediaDescription, format: string): RtpMap | undefined {
  const [attribute] = _formatAttributes(media, "rtpmap", format);
  if (attribute?.value !== undefined) return _parseRtpmap(attribute.value);
  return _DIGITS.test(format) ? _staticRtpmap(Number(format)) : undefined;
}

// RFC 4566 §6: a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]
function _parseRtpmap(value: string): RtpMap | undefined {
  const match = /^(\d+)[ \t]+([^ \t/]+)\/(\d+)(?:\/([^ \t]+))?[ \t]*$/.exec(value.trim());
  if (match === null) return undefined;
  const rtpmap: RtpMap = { payloadType: Number(match[1]), encodingName: match[2], clockRate: Number(match[3]) };
  if (match[4] !== undefined && _DIGITS.test(match[4])) rtpmap.channels = Number(match[4]);
  return rtpmap;
}

/**
 * The format parameters of a format: the value of its `a=fmtp` line after the format
 * (RFC 4566 §6).
 *
 * @param media The media description.
 * @param format The format (payload type) as written on the `m=` line.
 * @returns The parameters (`0-16`), `""` for an `a=fmtp` line without any, or `undefined` if
 *   the format has no `a=fmtp` line.
 * @example
 * ```ts
 * import { getFmtp } from "@sipecho/sipecho/sdp";
 * import { parseSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const sd = parseSdp(
 *   "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n" +
 *     "m=audio 4000 RTP/AVP 101\na=rtpmap:101 telephone-event/8000\na=fmtp:101 0-15\n",
 * );
 * assert.equal(getFmtp(sd.media[0], "101"), "0-15");
 * assert.equal(getFmtp(sd.media[0], "0"), undefined);
 * ```
 */
export function getFmtp(media: MediaDescription, format: string): string | undefined {
  const [attribute] = _formatAttributes(media, "fmtp", format);
  if (attribute?.value === undefined) return undefined;
  return attribute.value.trim().slice(format.length).trim();
}

function _isDirection(name: string): name is SdpDirection {
  return name === "sendrecv" || name === "sendonly" || name === "recvonly" || name === "inactive";
}

function _directionIn(attributes: SdpAttribute[]): SdpDirection | undefined {
  for (const { name, value } of attributes) {
    if (value === undefined && _isDirection(name)) return name;
  }
  return undefined;
}

/**
 * The direction of a media stream: its own direction attribute, else the session-level one,
 * else `sendrecv` (RFC 3264 §5.1, RFC 4566 §6).
 *
 * @param session The session description.
 * @param media One of its media descriptions; without it, the session-level direction.
 * @returns The direction.
 * @example
 * ```ts
 * import { getDirection } from "@sipecho/sipecho/sdp";
 * import { parseSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const sd = parseSdp(
 *   "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\na=sendonly\n" +
 *     "m=audio 4000 RTP/AVP 0\nm=audio 4002 RTP/AVP 0\na=inactive\n",
 * );
 * assert.equal(getDirection(sd, sd.media[0]), "sendonly");
 * assert.equal(getDirection(sd, sd.media[1]), "inactive");
 * ```
 */
export function getDirection(session: SessionDescription, media?: MediaDescription): SdpDirection {
  return (media && _directionIn(media.attributes)) ?? _directionIn(session.attributes) ?? "sendrecv";
}

/**
 * Whether a media description asks for RTP and RTCP on one port (`a=rtcp-mux`, RFC 5761 §5.1.1).
 *
 * @param media The media description.
 * @returns `true` if it has an `a=rtcp-mux` attribute.
 * @example
 * ```ts
 * import { hasRtcpMux } from "@sipecho/sipecho/sdp";
 * import { parseSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const sd = parseSdp("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\na=rtcp-mux\n");
 * assert.equal(hasRtcpMux(sd.media[0]), true);
 * ```
 */
export function hasRtcpMux(media: MediaDescription): boolean {
  return _attribute(media, "rtcp-mux") !== undefined;
}

/**
 * The packet time a media description asks for (`a=ptime`, RFC 4566 §6), in milliseconds.
 *
 * @param media The media description.
 * @returns The packet time, or `undefined` if there is no `a=ptime` line or its value is not a
 *   number.
 * @example
 * ```ts
 * import { getPtime } from "@sipecho/sipecho/sdp";
 * import { parseSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const sd = parseSdp("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\na=ptime:20\n");
 * assert.equal(getPtime(sd.media[0]), 20);
 * ```
 */
export function getPtime(media: MediaDescription): number | undefined {
  const value = _attribute(media, "ptime")?.value?.trim();
  return value !== undefined && /^\d+(\.\d+)?$/.test(value) ? Number(value) : undefined;
}
