/**
 * The model of a session description (RFC 4566 §5): one type per kind of line, the media
 * descriptions, what an `a=rtpmap` line says, and {@linkcode SdpError} for text that is not
 * one.
 *
 * @module
 */

/**
 * A media direction attribute (RFC 4566 §6, RFC 3264 §5.1).
 *
 * @example
 * ```ts
 * import { getDirection, type SdpDirection } from "@sipecho/sipecho/sdp";
 * import { parseSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const sd = parseSdp(
 *   "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\na=sendonly\n" +
 *     "m=audio 4000 RTP/AVP 0\nm=audio 4002 RTP/AVP 0\na=inactive\n",
 * );
 * const directions: SdpDirection[] = sd.media.map((m) => getDirection(sd, m));
 * assert.deepEqual(directions, ["sendonly", "inactive"]);
 * ```
 */
export type SdpDirection = "sendrecv" | "sendonly" | "recvonly" | "inactive";

/**
 * The `o=` line (RFC 4566 §5.2).
 *
 * @example
 * ```ts
 * import { parseSdp } from "@sipecho/sipecho";
 * import { type SdpOrigin } from "@sipecho/sipecho/sdp";
 * import assert from "node:assert/strict";
 *
 * const sd = parseSdp("v=0\no=alice 2890844526 2890842807 IN IP4 192.0.2.10\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\n");
 * const origin: SdpOrigin = sd.origin;
 * assert.equal(origin.username, "alice");
 * assert.equal(origin.sessionId, "2890844526");
 * assert.equal(origin.sessionVersion, "2890842807");
 * assert.equal(origin.address, "192.0.2.10");
 * ```
 */
export interface SdpOrigin {
  /** The user's login on the originating host, or `-`. */
  username: string;
  /** A numeric session id, kept as written (it may exceed 2^53). */
  sessionId: string;
  /** A numeric version of this description, kept as written. */
  sessionVersion: string;
  /** Network type, `IN`. */
  netType: string;
  /** Address type, `IP4` or `IP6`. */
  addrType: string;
  /** The address of the machine the session was created on. */
  address: string;
}

/**
 * A `c=` line (RFC 4566 §5.7).
 *
 * @example
 * ```ts
 * import { parseSdp } from "@sipecho/sipecho";
 * import { type SdpConnection } from "@sipecho/sipecho/sdp";
 * import assert from "node:assert/strict";
 *
 * const sd = parseSdp("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 224.2.1.1/127/3\nt=0 0\n");
 * const connection: SdpConnection | undefined = sd.connection;
 * assert.deepEqual(connection, { netType: "IN", addrType: "IP4", address: "224.2.1.1", ttl: 127, addressCount: 3 });
 * ```
 */
export interface SdpConnection {
  /** Network type, `IN`. */
  netType: string;
  /** Address type, `IP4` or `IP6`. */
  addrType: string;
  /** The address without any `/ttl` or `/count` suffix (kept whole for other address types). */
  address: string;
  /** The multicast TTL (`IP4` only: `224.2.1.1/127`). */
  ttl?: number;
  /** The number of multicast addresses (`224.2.1.1/127/3`, `ff15::101/3`). */
  addressCount?: number;
}

/**
 * A `b=` line (RFC 4566 §5.8), `b=AS:64` is `{ type: "AS", value: 64 }`.
 *
 * @example
 * ```ts
 * import { parseSdp } from "@sipecho/sipecho";
 * import { type SdpBandwidth } from "@sipecho/sipecho/sdp";
 * import assert from "node:assert/strict";
 *
 * const head = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n";
 * const sd = parseSdp(head + "m=audio 4000 RTP/AVP 0\nb=AS:64\n");
 * const bandwidths: SdpBandwidth[] = sd.media[0].bandwidths;
 * assert.deepEqual(bandwidths, [{ type: "AS", value: 64 }]);
 * ```
 */
export interface SdpBandwidth {
  /** The bandwidth type: `CT`, `AS`, `TIAS`, ... */
  type: string;
  /** The bandwidth value (kilobits per second for `CT` and `AS`). */
  value: number;
}

/**
 * A `t=` line and the `r=` lines that follow it (RFC 4566 §5.9, §5.10).
 *
 * @example
 * ```ts
 * import { parseSdp } from "@sipecho/sipecho";
 * import { type SdpTiming } from "@sipecho/sipecho/sdp";
 * import assert from "node:assert/strict";
 *
 * const head = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\n";
 * const sd = parseSdp(head + "t=2873397496 2873404696\nr=7d 1h 0 25h\n");
 * const timing: SdpTiming[] = sd.timing;
 * assert.deepEqual(timing, [{ start: 2873397496, stop: 2873404696, repeats: ["7d 1h 0 25h"] }]);
 * ```
 */
export interface SdpTiming {
  /** Start time (NTP seconds), 0 for an unbounded session. */
  start: number;
  /** Stop time (NTP seconds), 0 for an unbounded session. */
  stop: number;
  /** The values of the `r=` lines after this `t=` line, as written. */
  repeats: string[];
}

/**
 * An `a=` line (RFC 4566 §5.13): `a=rtcp-mux` is `{ name: "rtcp-mux" }`, `a=ptime:20` is `{ name: "ptime", value: "20" }`.
 *
 * @example
 * ```ts
 * import { parseSdp } from "@sipecho/sipecho";
 * import { type SdpAttribute } from "@sipecho/sipecho/sdp";
 * import assert from "node:assert/strict";
 *
 * const sd = parseSdp(
 *   "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\na=rtcp-mux\na=ptime:20\n",
 * );
 * const attributes: SdpAttribute[] = sd.media[0].attributes;
 * assert.deepEqual(attributes, [{ name: "rtcp-mux" }, { name: "ptime", value: "20" }]);
 * ```
 */
export interface SdpAttribute {
  /** The attribute name, case as written. */
  name: string;
  /** The value after the first `:`, absent for a property attribute. */
  value?: string;
}

/**
 * A line that has no field of its own in the model: `i=`, `u=`, `e=`, `p=`, `z=`, `k=`, or a
 * type letter this module does not know. Kept so that the description can be written back.
 *
 * @example
 * ```ts
 * import { formatSdp, parseSdp } from "@sipecho/sipecho";
 * import { type SdpLine } from "@sipecho/sipecho/sdp";
 * import assert from "node:assert/strict";
 *
 * const text = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=Seminar\r\ni=A talk on SIP\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n";
 * const sd = parseSdp(text);
 * const lines: SdpLine[] = sd.otherLines;
 * assert.deepEqual(lines, [{ type: "i", value: "A talk on SIP" }]);
 * assert.equal(formatSdp(sd), text);
 * ```
 */
export interface SdpLine {
  /** The type letter. */
  type: string;
  /** Everything after `=`. */
  value: string;
}

/**
 * One media description: an `m=` line and the lines up to the next `m=` (RFC 4566 §5.14).
 *
 * @example
 * ```ts
 * import { type MediaDescription } from "@sipecho/sipecho/sdp";
 * import { parseSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const sd = parseSdp("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 49170/2 RTP/AVP 0 8\nc=IN IP4 192.0.2.7\n");
 * const audio: MediaDescription = sd.media[0];
 * assert.equal(audio.media, "audio");
 * assert.equal(audio.port, 49170);
 * assert.equal(audio.portCount, 2);
 * assert.deepEqual(audio.formats, ["0", "8"]);
 * assert.equal(audio.connection?.address, "192.0.2.7");
 * ```
 */
export interface MediaDescription {
  /** Media type: `audio`, `video`, `text`, `application`, `message`, `image`, ... */
  media: string;
  /** The transport port, 0 for a rejected or disabled stream (RFC 3264 §5.1, §6). */
  port: number;
  /** The number of ports, when written as `<port>/<number>`. */
  portCount?: number;
  /** The transport protocol: `RTP/AVP`, `RTP/SAVPF`, `UDP/TLS/RTP/SAVPF`, `udptl`, ... */
  proto: string;
  /** The media formats; RTP payload type numbers for RTP profiles. */
  formats: string[];
  /** A media-level `c=` line, overriding the session-level one. */
  connection?: SdpConnection;
  /** The `b=` lines. */
  bandwidths: SdpBandwidth[];
  /** The `a=` lines, in order. */
  attributes: SdpAttribute[];
  /** `i=`, `k=` and unknown lines, in RFC 4566 §5 order. */
  otherLines: SdpLine[];
}

/**
 * A session description (RFC 4566 §5).
 *
 * @example
 * ```ts
 * import { formatSdp, parseSdp, type SessionDescription } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const text = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=Call\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" +
 *   "m=audio 4000 RTP/AVP 0\r\n";
 * const sd: SessionDescription = parseSdp(text);
 * assert.equal(sd.version, 0);
 * assert.equal(sd.sessionName, "Call");
 * assert.equal(sd.media.length, 1);
 * assert.equal(formatSdp(sd), text);
 * ```
 */
export interface SessionDescription {
  /** Protocol version, always 0 (RFC 4566 §5.1). */
  version: number;
  /** The `o=` line. */
  origin: SdpOrigin;
  /** The `s=` line's value. */
  sessionName: string;
  /** The session-level `c=` line, the default for every media description. */
  connection?: SdpConnection;
  /** Session-level `b=` lines. */
  bandwidths: SdpBandwidth[];
  /** The `t=` lines (at least one) with their `r=` lines. */
  timing: SdpTiming[];
  /** Session-level `a=` lines, in order. */
  attributes: SdpAttribute[];
  /** `i=`, `u=`, `e=`, `p=`, `z=`, `k=` and unknown lines, in RFC 4566 §5 order. */
  otherLines: SdpLine[];
  /** The media descriptions, in order. */
  media: MediaDescription[];
}

/**
 * What an `a=rtpmap` line (or the RFC 3551 static assignment) says a payload type is.
 *
 * @example
 * ```ts
 * import { getRtpmap, type RtpMap } from "@sipecho/sipecho/sdp";
 * import { parseSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const sd = parseSdp(
 *   "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0 96\n" +
 *     "a=rtpmap:96 telephone-event/8000\n",
 * );
 * const dtmf: RtpMap | undefined = getRtpmap(sd.media[0], "96");
 * assert.deepEqual(dtmf, { payloadType: 96, encodingName: "telephone-event", clockRate: 8000 });
 * assert.equal(getRtpmap(sd.media[0], "0")?.encodingName, "PCMU"); // static payload type (RFC 3551)
 * ```
 */
export interface RtpMap {
  /** The RTP payload type number. */
  payloadType: number;
  /** The encoding name as written: `PCMU`, `opus`, `telephone-event`. */
  encodingName: string;
  /** The RTP clock rate in Hz. */
  clockRate: number;
  /** The encoding parameters when a number (audio channels); absent means 1 for audio. */
  channels?: number;
}

/**
 * A session description that cannot be parsed. `line` is the 1-based line where the problem
 * is, or 0 when the problem is with the description as a whole (a missing `o=` line).
 *
 * @example Catching a parse error
 * ```ts
 * import { parseSdp } from "@sipecho/sipecho";
 * import { SdpError } from "@sipecho/sipecho/sdp";
 * import assert from "node:assert/strict";
 *
 * try {
 *   parseSdp("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4\r\nt=0 0\r\n");
 *   assert.fail("should throw");
 * } catch (e) {
 *   assert.ok(e instanceof SdpError);
 *   assert.equal(e.line, 4);
 *   assert.equal(e.message, 'Cannot parse SDP line 4 "c=IN IP4": connection address is missing');
 * }
 * ```
 */
export class SdpError extends SyntaxError {
  /** The 1-based line number of the problem, 0 if it concerns the whole description. */
  readonly line: number;

  /**
   * Makes the error; the message names the line and quotes it when both are given.
   *
   * @param problem What was wrong, e.g. `connection address is missing`.
   * @param line The 1-based line number, 0 for the whole description.
   * @param text The text of that line, quoted in the message.
   */
  constructor(problem: string, line = 0, text?: string) {
    super(
      line > 0 && text !== undefined
        ? `Cannot parse SDP line ${line} ${JSON.stringify(_shorten(text))}: ${problem}`
        : `Cannot parse SDP: ${problem}`,
    );
    this.name = "SdpError";
    this.line = line;
  }
}

function _shorten(text: string): string {
  return text.length > 80 ? text.slice(0, 77) + "..." : text;
}
