/**
 * `@sipecho/sipecho/media`: the RTP echo. A {@linkcode MediaEcho} binds an even/odd port pair
 * per stream of an answered call (RFC 3550 §11), sends every RTP and RTCP packet back to where it
 * came from, and counts what passed; `serve()` runs one when its `media` option is on.
 * The SDP functions are in `@sipecho/sipecho/sdp`.
 *
 * @example
 * ```ts
 * import { MediaEcho } from "@sipecho/sipecho/media";
 * import { parseSdp } from "@sipecho/sipecho/sdp";
 * import assert from "node:assert/strict";
 *
 * // The streams of an offer that get a port pair each: RTP transports with a port other than 0.
 * const offer = parseSdp("v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\n");
 * assert.deepEqual(MediaEcho.offeredStreams(offer), [{ index: 0, rtcpMux: false }]);

 * ```
 *
 * @module
 */

export {
  type MediaCallStats,
  type MediaCounters,
  MediaEcho,
  type MediaEchoOptions,
  type MediaEndReason,
  type MediaOpenResult,
  type MediaPorts,
  type MediaStreamRequest,
  type MediaStreamStats,
} from "./echo.ts";
export { readRtpHeader, type RtpHeader } from "./rtp_header.ts";
export { DtmfDetector, type DtmfDigit, dtmfKey, parseTelephoneEvent, type TelephoneEvent } from "./telephone_event.ts";
export { parseDtmfInfo } from "./dtmf_info.ts";
export { alawDecode, alawEncode, mulawDecode, mulawEncode } from "./g711.ts";
export { MAX_WAV_BYTES, parseWav, type Wav, writeWav } from "./wav.ts";
export { Announcement, type AnnouncementOptions } from "./announcement.ts";
export { DEFAULT_RECORD_SECONDS, Recording } from "./recording.ts";
