/**
 * SDP: reading and writing session descriptions (RFC 4566) and the offer/answer model
 * (RFC 3264) for a SIP UAS that echoes media back to the caller.
 *
 * The module is pure: no runtime APIs, no clock, no randomness. Session ids, versions and
 * RTP ports are passed in by the caller.
 *
 * @module
 */

// ---------------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------------

/**
 * A media direction attribute (RFC 4566 §6, RFC 3264 §5.1).
 *
 * @example
 * ```ts
 * import { getDirection, parseSdp, type SdpDirection } from "@sipecho/sipecho";
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
 * import { parseSdp, type SdpOrigin } from "@sipecho/sipecho";
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
 * import { parseSdp, type SdpConnection } from "@sipecho/sipecho";
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
 * import { parseSdp, type SdpBandwidth } from "@sipecho/sipecho";
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
 * import { parseSdp, type SdpTiming } from "@sipecho/sipecho";
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
 * import { parseSdp, type SdpAttribute } from "@sipecho/sipecho";
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
  * import { formatSdp, parseSdp, type SdpLine } from "@sipecho/sipecho";
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
 * import { type MediaDescription, parseSdp } from "@sipecho/sipecho";
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
 * A session description that cannot be parsed. `line` is the 1-based line where the problem
 * is, or 0 when the problem is with the description as a whole (a missing `o=` line).
 *
 * @example Catching a parse error
 * ```ts
 * import { parseSdp, SdpError } from "@sipecho/sipecho";
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
        ? `Cannot parse SDP line ${line} ${JSON.stringify(shorten(text))}: ${problem}`
        : `Cannot parse SDP: ${problem}`,
    );
    this.name = "SdpError";
    this.line = line;
  }
}

function shorten(text: string): string {
  return text.length > 80 ? text.slice(0, 77) + "..." : text;
}

// ---------------------------------------------------------------------------------------------
// Parsing (RFC 4566 §5)
// ---------------------------------------------------------------------------------------------

// RFC 4566 §5: the order of the lines in a session and in a media description. Type letters
// this module does not know are kept and written just before the a= lines.
const SESSION_ORDER = "vosiuepcbtrzka";
const MEDIA_ORDER = "micbka";
// RFC 4566 §9: token (used by attribute names and bandwidth types).
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`{|}~-]+$/;
const DIGITS = /^[0-9]+$/;

type Fail = (problem: string) => SdpError;

/** The session-level fields while they are being read; `origin` and `sessionName` come later. */
interface SessionDraft {
  origin?: SdpOrigin;
  sessionName?: string;
  connection?: SdpConnection;
  bandwidths: SdpBandwidth[];
  timing: SdpTiming[];
  attributes: SdpAttribute[];
  otherLines: SdpLine[];
}

/**
 * Parses a session description (RFC 4566). Lines may end in CRLF or a bare LF; empty lines
 * at the end are ignored.
 *
 * It checks the mandatory structure: `v=0` first, exactly one `o=` and `s=` line, at least one
 * `t=` line, well-formed `o=`, `c=`, `b=`, `t=` and `m=` lines, and a `c=` line at session level
 * or in every media description. Attributes and lines without a field of their own are kept in
 * order so that {@linkcode formatSdp} writes them back.
 *
 * @param text The session description, e.g. the body of an INVITE.
 * @returns The parsed description.
 * @throws {SdpError} If the text is not a valid session description; `line` says where.
 * @example Reading a softphone's offer
 * ```ts
 * import { getDirection, getRtpmap, parseSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const sd = parseSdp(
 *   "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\n" +
 *     "t=0 0\r\nm=audio 49170 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
 * );
 * assert.equal(sd.connection?.address, "192.0.2.10");
 * assert.deepEqual(sd.media[0].formats, ["0", "101"]);
 * assert.equal(getRtpmap(sd.media[0], "101")?.encodingName, "telephone-event");
 * assert.equal(getDirection(sd, sd.media[0]), "sendrecv");
 * ```
 */
export function parseSdp(text: string): SessionDescription {
  const lines = splitLines(text);
  if (lines.length === 0) throw new SdpError("the description is empty");
  // RFC 4566 §5.1: the first line is "v=0".
  if (lines[0] !== "v=0") {
    const problem = lines[0].startsWith("v=") ? "the version is not 0" : 'the first line must be "v=0"';
    throw new SdpError(problem, 1, lines[0]);
  }
  const session: SessionDraft = { bandwidths: [], timing: [], attributes: [], otherLines: [] };
  const media: MediaDescription[] = [];
  const mediaLineNumbers: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const fail: Fail = (problem) => new SdpError(problem, i + 1, line);
    // RFC 4566 §5: <type>=<value>, where <type> is exactly one case-significant character.
    const letter = line.charCodeAt(0);
    if (!(letter >= 0x61 && letter <= 0x7a && line.charCodeAt(1) === 0x3d)) {
      throw fail('a line must be "<type>=<value>" with a lowercase type letter');
    }
    const type = line[0];
    const value = line.slice(2);
    if (type === "m") {
      media.push(parseMediaLine(value, fail));
      mediaLineNumbers.push(i + 1);
    } else if (media.length > 0) {
      readMediaLine(media[media.length - 1], type, value, fail);
    } else {
      readSessionLine(session, type, value, fail);
    }
  }
  const { origin, sessionName } = session;
  if (origin === undefined) throw new SdpError('the origin line ("o=") is missing');
  if (sessionName === undefined) throw new SdpError('the session name line ("s=") is missing');
  if (session.timing.length === 0) throw new SdpError('the timing line ("t=") is missing');
  // RFC 4566 §5.7: a c= line in every media description or at session level.
  if (session.connection === undefined) {
    const index = media.findIndex((m) => m.connection === undefined);
    if (index >= 0) {
      const n = mediaLineNumbers[index];
      throw new SdpError('the connection line ("c=") is missing, here and at session level', n, lines[n - 1]);
    }
  }
  sortOtherLines(session.otherLines, SESSION_ORDER);
  for (const m of media) sortOtherLines(m.otherLines, MEDIA_ORDER);
  const sd: SessionDescription = { version: 0, origin, sessionName } as SessionDescription;
  if (session.connection !== undefined) sd.connection = session.connection;
  sd.bandwidths = session.bandwidths;
  sd.timing = session.timing;
  sd.attributes = session.attributes;
  sd.otherLines = session.otherLines;
  sd.media = media;
  return sd;
}

/** The lines of the text, split at LF with a CR before it dropped; empty lines at the end left out. */
function splitLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  for (;;) {
    const lf = text.indexOf("\n", start);
    if (lf < 0) {
      lines.push(text.slice(start));
      break;
    }
    lines.push(text.slice(start, lf > start && text.charCodeAt(lf - 1) === 0x0d ? lf - 1 : lf));
    start = lf + 1;
  }
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

function readSessionLine(session: SessionDraft, type: string, value: string, fail: Fail): void {
  switch (type) {
    case "v":
      throw fail('"v=" may only be the first line');
    case "o": // RFC 4566 §5.2
      if (session.origin !== undefined) throw fail('a second origin line ("o=")');
      session.origin = parseOrigin(value, fail);
      return;
    case "s": // RFC 4566 §5.3
      if (session.sessionName !== undefined) throw fail('a second session name line ("s=")');
      session.sessionName = value;
      return;
    case "c":
      if (session.connection !== undefined) throw fail('a second connection line ("c=") at session level');
      session.connection = parseConnection(value, fail);
      return;
    case "b":
      session.bandwidths.push(parseBandwidth(value, fail));
      return;
    case "t":
      session.timing.push(parseTiming(value, fail));
      return;
    case "r": // RFC 4566 §5.10: repeat times belong to the t= line before them.
      if (session.timing.length === 0) throw fail('a repeat line ("r=") must follow a "t=" line');
      session.timing[session.timing.length - 1].repeats.push(value);
      return;
    case "a":
      session.attributes.push(parseAttribute(value, fail));
      return;
    default:
      session.otherLines.push({ type, value });
  }
}

function readMediaLine(media: MediaDescription, type: string, value: string, fail: Fail): void {
  switch (type) {
    case "c":
      if (media.connection !== undefined) throw fail('a second connection line ("c=") in one media description');
      media.connection = parseConnection(value, fail);
      return;
    case "b":
      media.bandwidths.push(parseBandwidth(value, fail));
      return;
    case "a":
      media.attributes.push(parseAttribute(value, fail));
      return;
    default:
      // RFC 4566 §5: a media description holds only i=, c=, b=, k= and a= lines.
      if (SESSION_ORDER.includes(type) && !MEDIA_ORDER.includes(type)) {
        throw fail(`"${type}=" is not allowed in a media description`);
      }
      media.otherLines.push({ type, value });
  }
}

/** The fields of a value: trimmed, split at runs of spaces and tabs. */
function fields(value: string): string[] {
  const trimmed = value.trim();
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < trimmed.length; i++) {
    const c = trimmed.charCodeAt(i);
    if (c === 0x20 || c === 0x09) {
      if (start >= 0) out.push(trimmed.slice(start, i));
      start = -1;
    } else if (start < 0) {
      start = i;
    }
  }
  if (start >= 0) out.push(trimmed.slice(start));
  return out;
}

/** Whether the first field of a value (see {@linkcode fields}) is `format`. */
function firstFieldIs(value: string, format: string): boolean {
  const trimmed = value.trim();
  if (format.length === 0 || !trimmed.startsWith(format)) return false;
  const next = trimmed.charCodeAt(format.length);
  return trimmed.length === format.length || next === 0x20 || next === 0x09;
}

// RFC 4566 §5.2: o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
function parseOrigin(value: string, fail: Fail): SdpOrigin {
  const f = fields(value);
  if (f.length !== 6) {
    throw fail("the origin must be <username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>");
  }
  const [username, sessionId, sessionVersion, netType, addrType, address] = f;
  if (!DIGITS.test(sessionId)) throw fail("the session id is not a number");
  if (!DIGITS.test(sessionVersion)) throw fail("the session version is not a number");
  return { username, sessionId, sessionVersion, netType, addrType, address };
}

// RFC 4566 §5.7: c=<nettype> <addrtype> <connection-address>, where a multicast address may
// carry /<ttl>[/<number of addresses>] (IP4) or /<number of addresses> (IP6).
function parseConnection(value: string, fail: Fail): SdpConnection {
  const f = fields(value);
  if (f.length === 2) throw fail("connection address is missing");
  if (f.length !== 3) throw fail("the connection must be <nettype> <addrtype> <connection-address>");
  const [netType, addrType, written] = f;
  const connection: SdpConnection = { netType, addrType, address: written };
  const parts = written.split("/");
  if (parts.length === 1 || (addrType !== "IP4" && addrType !== "IP6")) return connection;
  const numbers = parts.slice(1);
  if (numbers.length > (addrType === "IP4" ? 2 : 1) || !numbers.every((n) => DIGITS.test(n))) {
    throw fail("the multicast suffix of the connection address is not /<ttl>[/<number of addresses>]");
  }
  connection.address = parts[0];
  if (addrType === "IP4") {
    connection.ttl = Number(numbers[0]);
    if (numbers.length === 2) connection.addressCount = Number(numbers[1]);
  } else {
    connection.addressCount = Number(numbers[0]);
  }
  return connection;
}

// RFC 4566 §5.8: b=<bwtype>:<bandwidth>
function parseBandwidth(value: string, fail: Fail): SdpBandwidth {
  const colon = value.indexOf(":");
  const type = value.slice(0, colon);
  const amount = value.slice(colon + 1).trim();
  if (colon < 0 || !TOKEN.test(type) || !DIGITS.test(amount)) throw fail("the bandwidth must be <bwtype>:<bandwidth>");
  return { type, value: Number(amount) };
}

// RFC 4566 §5.9: t=<start-time> <stop-time>
function parseTiming(value: string, fail: Fail): SdpTiming {
  const f = fields(value);
  if (f.length !== 2 || !f.every((n) => DIGITS.test(n))) throw fail("the timing must be <start-time> <stop-time>");
  return { start: Number(f[0]), stop: Number(f[1]), repeats: [] };
}

// RFC 4566 §5.13: a=<attribute> or a=<attribute>:<value>
function parseAttribute(value: string, fail: Fail): SdpAttribute {
  const colon = value.indexOf(":");
  const name = colon < 0 ? value : value.slice(0, colon);
  if (!TOKEN.test(name)) throw fail("the attribute name is missing or not a token");
  return colon < 0 ? { name } : { name, value: value.slice(colon + 1) };
}

// RFC 4566 §5.14: m=<media> <port>[/<number of ports>] <proto> <fmt> ...
function parseMediaLine(value: string, fail: Fail): MediaDescription {
  const f = fields(value);
  if (f.length < 4) throw fail("the media line must be <media> <port> <proto> <fmt> ...");
  const [media, portText, proto, ...formats] = f;
  const [port, count, ...extra] = portText.split("/");
  if (!DIGITS.test(port) || Number(port) > 65535) throw fail("the port is not a number from 0 to 65535");
  if (extra.length > 0 || (count !== undefined && (!DIGITS.test(count) || Number(count) === 0))) {
    throw fail("the number of ports is not a positive number");
  }
  const description: MediaDescription = {
    media,
    port: Number(port),
    proto,
    formats,
    bandwidths: [],
    attributes: [],
    otherLines: [],
  };
  if (count !== undefined) description.portCount = Number(count);
  return description;
}

function rank(order: string, type: string): number {
  const index = order.indexOf(type);
  return index >= 0 ? index : order.indexOf("a") - 0.5;
}

function sortOtherLines(lines: SdpLine[], order: string): void {
  if (lines.length < 2) return;
  // Array.prototype.sort is stable, so lines of one type keep their order.
  lines.sort((x, y) => rank(order, x.type) - rank(order, y.type));
}

// ---------------------------------------------------------------------------------------------
// Serialising (RFC 4566 §5)
// ---------------------------------------------------------------------------------------------

/**
 * Writes a session description: one line per field, each ending in CRLF, in the order of
 * RFC 4566 §5. `parseSdp(formatSdp(sd))` deep-equals `sd` for any `sd` that `parseSdp` returned.
 *
 * @param sd The session description.
 * @returns The SDP text.
 * @example
 * ```ts
 * import { formatSdp, parseSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const text = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n";
 * assert.equal(formatSdp(parseSdp(text)), text.replaceAll("\n", "\r\n"));
 * ```
 */
export function formatSdp(sd: SessionDescription): string {
  let out = `v=${sd.version}\r\no=${formatOrigin(sd.origin)}\r\ns=${sd.sessionName}\r\n`;
  out += formatOtherLines(sd.otherLines, SESSION_ORDER, "before c=");
  if (sd.connection) out += `c=${formatConnection(sd.connection)}\r\n`;
  for (const b of sd.bandwidths) out += formatBandwidth(b) + "\r\n";
  for (const t of sd.timing) {
    out += `t=${t.start} ${t.stop}\r\n`;
    for (const r of t.repeats) out += `r=${r}\r\n`;
  }
  out += formatOtherLines(sd.otherLines, SESSION_ORDER, "after b=");
  for (const a of sd.attributes) out += formatAttribute(a) + "\r\n";
  for (const m of sd.media) {
    const port = m.portCount === undefined ? `${m.port}` : `${m.port}/${m.portCount}`;
    out += `m=${m.media} ${port} ${m.proto} ${m.formats.join(" ")}\r\n`;
    out += formatOtherLines(m.otherLines, MEDIA_ORDER, "before c=");
    if (m.connection) out += `c=${formatConnection(m.connection)}\r\n`;
    for (const b of m.bandwidths) out += formatBandwidth(b) + "\r\n";
    out += formatOtherLines(m.otherLines, MEDIA_ORDER, "after b=");
    for (const a of m.attributes) out += formatAttribute(a) + "\r\n";
  }
  return out;
}

/**
 * The other lines that belong before the c= line (i=, u=, e=, p=) or after the b= and t=
 * lines, each with its CRLF.
 */
function formatOtherLines(lines: SdpLine[], order: string, place: "before c=" | "after b="): string {
  if (lines.length === 0) return "";
  const beforeConnection = place === "before c=";
  return lines
    .filter((line) => (rank(order, line.type) < rank(order, "c")) === beforeConnection)
    .sort((x, y) => rank(order, x.type) - rank(order, y.type))
    .map((line) => `${line.type}=${line.value}\r\n`)
    .join("");
}

function formatOrigin(o: SdpOrigin): string {
  return `${o.username} ${o.sessionId} ${o.sessionVersion} ${o.netType} ${o.addrType} ${o.address}`;
}

function formatConnection(c: SdpConnection): string {
  let address = c.address;
  if (c.ttl !== undefined) address += `/${c.ttl}`;
  if (c.addressCount !== undefined) address += `/${c.addressCount}`;
  return `${c.netType} ${c.addrType} ${address}`;
}

function formatBandwidth(b: SdpBandwidth): string {
  return `b=${b.type}:${b.value}`;
}

function formatAttribute(a: SdpAttribute): string {
  return a.value === undefined ? `a=${a.name}` : `a=${a.name}:${a.value}`;
}

// ---------------------------------------------------------------------------------------------
// Reading attributes
// ---------------------------------------------------------------------------------------------

/**
 * What an `a=rtpmap` line (or the RFC 3551 static assignment) says a payload type is.
 *
 * @example
 * ```ts
 * import { getRtpmap, parseSdp, type RtpMap } from "@sipecho/sipecho";
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

// RFC 3551 §6, Tables 4 and 5: the static RTP/AVP payload types.
const STATIC_PAYLOAD_TYPES: ReadonlyMap<number, { media: string; name: string; clockRate: number; channels?: number }> =
  new Map([
    [0, { media: "audio", name: "PCMU", clockRate: 8000 }],
    [3, { media: "audio", name: "GSM", clockRate: 8000 }],
    [4, { media: "audio", name: "G723", clockRate: 8000 }],
    [5, { media: "audio", name: "DVI4", clockRate: 8000 }],
    [6, { media: "audio", name: "DVI4", clockRate: 16000 }],
    [7, { media: "audio", name: "LPC", clockRate: 8000 }],
    [8, { media: "audio", name: "PCMA", clockRate: 8000 }],
    [9, { media: "audio", name: "G722", clockRate: 8000 }],
    [10, { media: "audio", name: "L16", clockRate: 44100, channels: 2 }],
    [11, { media: "audio", name: "L16", clockRate: 44100 }],
    [12, { media: "audio", name: "QCELP", clockRate: 8000 }],
    [13, { media: "audio", name: "CN", clockRate: 8000 }],
    [14, { media: "audio", name: "MPA", clockRate: 90000 }],
    [15, { media: "audio", name: "G728", clockRate: 8000 }],
    [16, { media: "audio", name: "DVI4", clockRate: 11025 }],
    [17, { media: "audio", name: "DVI4", clockRate: 22050 }],
    [18, { media: "audio", name: "G729", clockRate: 8000 }],
    [25, { media: "video", name: "CelB", clockRate: 90000 }],
    [26, { media: "video", name: "JPEG", clockRate: 90000 }],
    [28, { media: "video", name: "nv", clockRate: 90000 }],
    [31, { media: "video", name: "H261", clockRate: 90000 }],
    [32, { media: "video", name: "MPV", clockRate: 90000 }],
    [33, { media: "video", name: "MP2T", clockRate: 90000 }],
    [34, { media: "video", name: "H263", clockRate: 90000 }],
  ]);

/** The attributes named `name` whose value starts with the format: `a=rtpmap:<format> ...`. */
function formatAttributes(media: MediaDescription, name: string, format: string): SdpAttribute[] {
  const found: SdpAttribute[] = [];
  for (const a of media.attributes) {
    if (a.value !== undefined && a.name.length === name.length && a.name.toLowerCase() === name) {
      if (firstFieldIs(a.value, format)) found.push(a);
    }
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
 * import { getRtpmap, parseSdp } from "@sipecho/sipecho";
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
  const [attribute] = formatAttributes(media, "rtpmap", format);
  if (attribute?.value !== undefined) return parseRtpmap(attribute.value);
  return DIGITS.test(format) ? staticRtpmap(Number(format)) : undefined;
}

function staticRtpmap(payloadType: number): RtpMap | undefined {
  const known = STATIC_PAYLOAD_TYPES.get(payloadType);
  if (known === undefined) return undefined;
  const rtpmap: RtpMap = { payloadType, encodingName: known.name, clockRate: known.clockRate };
  if (known.channels !== undefined) rtpmap.channels = known.channels;
  return rtpmap;
}

/** Whether two rtpmaps name the same encoding; channels default to 1 (RFC 4566 §6). */
function sameEncoding(a: RtpMap, b: RtpMap): boolean {
  return a.encodingName.toLowerCase() === b.encodingName.toLowerCase() && a.clockRate === b.clockRate &&
    (a.channels ?? 1) === (b.channels ?? 1);
}

// RFC 4566 §6: a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]
function parseRtpmap(value: string): RtpMap | undefined {
  const match = /^(\d+)[ \t]+([^ \t/]+)\/(\d+)(?:\/([^ \t]+))?[ \t]*$/.exec(value.trim());
  if (match === null) return undefined;
  const rtpmap: RtpMap = { payloadType: Number(match[1]), encodingName: match[2], clockRate: Number(match[3]) };
  if (match[4] !== undefined && DIGITS.test(match[4])) rtpmap.channels = Number(match[4]);
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
 * import { getFmtp, parseSdp } from "@sipecho/sipecho";
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
  const [attribute] = formatAttributes(media, "fmtp", format);
  if (attribute?.value === undefined) return undefined;
  return attribute.value.trim().slice(format.length).trim();
}

function isDirection(name: string): name is SdpDirection {
  return name === "sendrecv" || name === "sendonly" || name === "recvonly" || name === "inactive";
}

function directionIn(attributes: SdpAttribute[]): SdpDirection | undefined {
  for (const { name, value } of attributes) {
    if (value === undefined && isDirection(name)) return name;
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
 * import { getDirection, parseSdp } from "@sipecho/sipecho";
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
  return (media && directionIn(media.attributes)) ?? directionIn(session.attributes) ?? "sendrecv";
}

/**
 * Whether a media description asks for RTP and RTCP on one port (`a=rtcp-mux`, RFC 5761 §5.1.1).
 *
 * @param media The media description.
 * @returns `true` if it has an `a=rtcp-mux` attribute.
 * @example
 * ```ts
 * import { hasRtcpMux, parseSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const sd = parseSdp("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\na=rtcp-mux\n");
 * assert.equal(hasRtcpMux(sd.media[0]), true);
 * ```
 */
export function hasRtcpMux(media: MediaDescription): boolean {
  return media.attributes.some((a) => a.name.toLowerCase() === "rtcp-mux");
}

/**
 * The packet time a media description asks for (`a=ptime`, RFC 4566 §6), in milliseconds.
 *
 * @param media The media description.
 * @returns The packet time, or `undefined` if there is no `a=ptime` line or its value is not a
 *   number.
 * @example
 * ```ts
 * import { getPtime, parseSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const sd = parseSdp("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\na=ptime:20\n");
 * assert.equal(getPtime(sd.media[0]), 20);
 * ```
 */
export function getPtime(media: MediaDescription): number | undefined {
  const value = media.attributes.find((a) => a.name.toLowerCase() === "ptime")?.value?.trim();
  return value !== undefined && /^\d+(\.\d+)?$/.test(value) ? Number(value) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Offer/answer (RFC 3264)
// ---------------------------------------------------------------------------------------------

/**
 * A codec the peer supports, named as in `a=rtpmap` (RFC 4566 §6).
 *
 * @example
 * ```ts
 * import { type Codec, createOffer, getFmtp, getRtpmap } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const opus: Codec = { name: "opus", clockRate: 48000, channels: 2, fmtp: "useinbandfec=1" };
 * const offer = createOffer({ address: "192.0.2.1", port: 30000, sessionId: 1, sessionVersion: 1, codecs: [opus] });
 * assert.deepEqual(offer.media[0].formats, ["96"]);
 * assert.equal(getRtpmap(offer.media[0], "96")?.channels, 2);
 * assert.equal(getFmtp(offer.media[0], "96"), "useinbandfec=1");
 * ```
 */
export interface Codec {
  /** Encoding name, matched case-insensitively: `PCMU`, `opus`, `telephone-event`. */
  name: string;
  /** RTP clock rate in Hz. */
  clockRate: number;
  /** Audio channels; absent means 1. */
  channels?: number;
  /** The media type the codec is for (default `audio`). */
  media?: string;
  /** Format parameters to offer in `a=fmtp` ({@linkcode createOffer} only). */
  fmtp?: string;
}

/**
 * The codecs an echo peer supports by default: PCMU/8000, PCMA/8000, G722/8000,
 * opus/48000/2 and telephone-event/8000 (DTMF, offered with events 0-16).
 *
 * @example
 * ```ts
 * import { DEFAULT_CODECS } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(DEFAULT_CODECS.map((c) => c.name), ["PCMU", "PCMA", "G722", "opus", "telephone-event"]);
 * ```
 */
export const DEFAULT_CODECS: readonly Codec[] = Object.freeze([
  Object.freeze({ name: "PCMU", clockRate: 8000 }),
  Object.freeze({ name: "PCMA", clockRate: 8000 }),
  Object.freeze({ name: "G722", clockRate: 8000 }),
  Object.freeze({ name: "opus", clockRate: 48000, channels: 2 }),
  Object.freeze({ name: "telephone-event", clockRate: 8000, fmtp: "0-16" }),
]);

// RFC 3264 §6 leaves the choice of transports to the answerer; these are the RTP profiles.
const RTP_PROTOCOLS: readonly string[] = ["RTP/AVP", "RTP/AVPF", "RTP/SAVP", "RTP/SAVPF", "UDP/TLS/RTP/SAVPF"];

/**
 * Options for {@linkcode answerSdp}.
 *
 * @example
 * ```ts
 * import { type AnswerOptions, answerSdp, parseSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const head = "v=0\no=- 1 1 IN IP4 192.0.2.10\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\n";
 * const offer = parseSdp(head + "m=audio 49170 RTP/AVP 8 0\n");
 * const options: AnswerOptions = {
 *   address: "192.0.2.1",
 *   rtpPort: (index) => 20000 + 2 * index,
 *   sessionId: 1,
 *   sessionVersion: 1,
 *   codecs: [{ name: "PCMU", clockRate: 8000 }],
 * };
 * const result = answerSdp(offer, options);
 * assert.ok(result.ok);
 * assert.equal(result.answer.media[0].port, 20000);
 * assert.deepEqual(result.answer.media[0].formats, ["0"]);
 * ```
 */
export interface AnswerOptions {
  /** The peer's own media address, IPv4 or IPv6 (written as `IN IP4` or `IN IP6`). */
  address: string;
  /**
   * The RTP port for the accepted stream at m-line `index` (0-based), an integer from 1 to
   * 65535. Called only for accepted streams, in m-line order.
   */
  rtpPort: (index: number, media: MediaDescription) => number;
  /** The `o=` session id: a non-negative integer or a string of digits. */
  sessionId: number | string;
  /** The `o=` session version: a non-negative integer or a string of digits. */
  sessionVersion: number | string;
  /** The supported codecs (default {@linkcode DEFAULT_CODECS}). */
  codecs?: readonly Codec[];
  /** The transports accepted (default RTP/AVP, RTP/AVPF, RTP/SAVP, RTP/SAVPF, UDP/TLS/RTP/SAVPF). */
  protocols?: readonly string[];
  /** The `o=` username (default `-`). */
  username?: string;
  /** The `s=` line (default `-`). */
  sessionName?: string;
  /**
   * Most streams accepted (default: no limit). Streams past it are rejected with port 0, as a
   * stream the answerer does not want (RFC 3264 §6), and `rtpPort` is not asked for them.
   */
  maxStreams?: number;
}

/**
 * A stream accepted by {@linkcode answerSdp}.
 *
 * @example
 * ```ts
 * import { type AcceptedStream, answerSdp, parseSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const head = "v=0\no=- 1 1 IN IP4 192.0.2.10\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\n";
 * const offer = parseSdp(head + "m=audio 49170 RTP/AVP 0\na=rtcp-mux\na=sendonly\n");
 * const result = answerSdp(offer, { address: "192.0.2.1", rtpPort: () => 20000, sessionId: 1, sessionVersion: 1 });
 * assert.ok(result.ok);
 * const stream: AcceptedStream = result.accepted[0];
 * assert.deepEqual(stream, {
 *   index: 0, media: "audio", port: 20000, formats: ["0"], rtcpMux: true, direction: "recvonly",
 *   remoteAddress: "192.0.2.10", remotePort: 49170,
 * });
 * ```
 */
export interface AcceptedStream {
  /** The 0-based m-line index in the offer and the answer. */
  index: number;
  /** The media type. */
  media: string;
  /** Our RTP port for it, as given by `rtpPort`. */
  port: number;
  /** The kept formats (payload types), in the offer's order. */
  formats: string[];
  /** Whether RTP and RTCP share the port (`a=rtcp-mux` in offer and answer). */
  rtcpMux: boolean;
  /** The direction written in the answer. */
  direction: SdpDirection;
  /** Where the offerer receives this stream: its `c=` address... */
  remoteAddress: string;
  /** ...and its `m=` port. */
  remotePort: number;
}

/**
 * The result of {@linkcode answerSdp}: an answer, or the SIP status to reject the offer with.
 *
 * @example
 * ```ts
 * import { answerSdp, parseSdp, type SdpAnswerResult } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const head = "v=0\no=- 1 1 IN IP4 192.0.2.10\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\n";
 * const offer = parseSdp(head + "m=audio 49170 RTP/AVP 18\n"); // G.729 only
 * const options = { address: "192.0.2.1", rtpPort: () => 20000, sessionId: 1, sessionVersion: 1 };
 * const result: SdpAnswerResult = answerSdp(offer, options);
 * assert.ok(!result.ok);
 * assert.equal(result.status, 488); // no codec in common
 * ```
 */
export type SdpAnswerResult =
  | { ok: true; answer: SessionDescription; accepted: AcceptedStream[] }
  | { ok: false; status: 488; reason: string };

// RFC 3264 §6.1: the direction of the answer given the direction of the offer, for a peer
// that sends back what it receives.
const MIRRORED: Record<SdpDirection, SdpDirection> = {
  sendrecv: "sendrecv",
  sendonly: "recvonly",
  recvonly: "sendonly",
  inactive: "inactive",
};

/**
 * Answers an offer (RFC 3264 §6): one m-line per offered m-line, in the same order, with the
 * same media type and transport.
 *
 * A stream is accepted when its port is not 0, its transport is an RTP profile, and it shares a
 * codec with `options.codecs`: static payload types (RFC 3551) match by number, others by their
 * `a=rtpmap` encoding name (case-insensitive), clock rate and channels. The answer keeps the
 * matching formats in the offer's order with the offer's payload type numbers, copies their
 * `a=rtpmap` and `a=fmtp` lines, echoes `a=ptime`, mirrors `a=rtcp-mux` and the direction
 * (always written). A stream whose only common formats are telephone-event or comfort noise
 * is rejected. A rejected stream gets port 0 and the offer's formats (RFC 3264 §6). The answer
 * has `c=` at session level with `options.address` and the offer's `t=` lines.
 *
 * @param offer The offer, e.g. from an INVITE.
 * @param options Our address, ports, codecs and `o=` values.
 * @returns The answer and the accepted streams; or, when the offer has m-lines and none can be
 *   accepted, `{ ok: false, status: 488 }` (RFC 3261 §21.4.26). An offer with no m-lines gets
 *   an answer with none.
 * @throws {TypeError} If an option is not of the form described (address, session id, ...).
 * @throws {RangeError} If `rtpPort` returns something other than an integer from 1 to 65535.
 * @example Answering PCMU and DTMF
 * ```ts
 * import { answerSdp, formatSdp, parseSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const offer = parseSdp(
 *   "v=0\r\no=alice 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n" +
 *     "m=audio 49170 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n",
 * );
 * const result = answerSdp(offer, { address: "192.0.2.1", rtpPort: () => 20000, sessionId: 7, sessionVersion: 7 });
 * assert.ok(result.ok);
 * assert.equal(
 *   formatSdp(result.answer),
 *   "v=0\r\no=- 7 7 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" +
 *     "m=audio 20000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n",
 * );
 * ```
 */
export function answerSdp(offer: SessionDescription, options: AnswerOptions): SdpAnswerResult {
  const codecs = options.codecs ?? DEFAULT_CODECS;
  const protocols = options.protocols === undefined ? RTP_PROTOCOLS : options.protocols.map((p) => p.toUpperCase());
  const origin = ourOrigin(options);
  const sessionName = textOption("sessionName", options.sessionName ?? "-");
  const media: MediaDescription[] = [];
  const accepted: AcceptedStream[] = [];
  // RFC 3264 §6: one m-line in the answer for each m-line in the offer, in the same order.
  offer.media.forEach((offered, index) => {
    const remote = offered.connection ?? offer.connection;
    const usable = offered.port !== 0 && protocols.includes(offered.proto.toUpperCase());
    const formats = usable ? commonFormats(offered, codecs) : [];
    if (
      remote === undefined || !formats.some((f) => isMediaCodec(f.rtpmap)) ||
      accepted.length >= (options.maxStreams ?? Infinity)
    ) {
      media.push(rejectedStream(offered));
      return;
    }

    const port = portOption(`rtpPort(${index})`, options.rtpPort(index, offered));
    const direction = MIRRORED[getDirection(offer, offered)];
    const kept = formats.map((f) => f.format);
    media.push(acceptedStream(offered, kept, port, direction));
    accepted.push({
      index,
      media: offered.media,
      port,
      formats: kept,
      rtcpMux: hasRtcpMux(offered),
      direction,
      remoteAddress: remote.address,
      remotePort: offered.port,
    });
  });
  if (offer.media.length > 0 && accepted.length === 0) {
    return { ok: false, status: 488, reason: "Not Acceptable Here: no common codec in any m-line" };
  }
  const answer: SessionDescription = {
    version: 0,
    origin,
    sessionName,
    connection: { netType: "IN", addrType: origin.addrType, address: origin.address },
    bandwidths: [],
    // RFC 3264 §6: the t= line in the answer MUST equal that of the offer.
    timing: offer.timing.map((t) => ({ start: t.start, stop: t.stop, repeats: [...t.repeats] })),
    attributes: [],
    otherLines: [],
    media,
  };
  return { ok: true, answer, accepted };
}

/** The offered formats we support, in the offer's order (RFC 3264 §6.1). */
function commonFormats(offered: MediaDescription, codecs: readonly Codec[]): { format: string; rtpmap: RtpMap }[] {
  const kept: { format: string; rtpmap: RtpMap }[] = [];
  for (const format of offered.formats) {
    const rtpmap = getRtpmap(offered, format);
    if (rtpmap !== undefined && codecs.some((c) => codecMatches(c, offered.media, rtpmap))) {
      kept.push({ format, rtpmap });
    }
  }
  return kept;
}

function codecMatches(codec: Codec, media: string, rtpmap: RtpMap): boolean {
  // sameEncoding() without building an RtpMap: clock rate and channels first, then the name.
  return (codec.media ?? "audio") === media && rtpmap.clockRate === codec.clockRate &&
    (rtpmap.channels ?? 1) === (codec.channels ?? 1) &&
    (rtpmap.encodingName === codec.name || rtpmap.encodingName.toLowerCase() === codec.name.toLowerCase());
}

/** Whether a format carries media itself, not only DTMF events (RFC 4733) or comfort noise (RFC 3389). */
function isMediaCodec(rtpmap: RtpMap): boolean {
  const name = rtpmap.encodingName.toLowerCase();
  return name !== "telephone-event" && name !== "cn";
}

// RFC 3264 §6: a rejected stream has port 0; its formats are not significant, so the offer's
// are copied.
function rejectedStream(offered: MediaDescription): MediaDescription {
  return {
    media: offered.media,
    port: 0,
    proto: offered.proto,
    formats: [...offered.formats],
    bandwidths: [],
    attributes: [],
    otherLines: [],
  };
}

function acceptedStream(
  offered: MediaDescription,
  formats: string[],
  port: number,
  direction: SdpDirection,
): MediaDescription {
  const attributes: SdpAttribute[] = [];
  for (const format of formats) {
    // Copies (formatAttributes() returns only attributes with a value).
    for (const a of formatAttributes(offered, "rtpmap", format)) attributes.push({ name: a.name, value: a.value });
    for (const a of formatAttributes(offered, "fmtp", format)) attributes.push({ name: a.name, value: a.value });
  }
  const ptime = offered.attributes.find((a) => a.name.toLowerCase() === "ptime");
  if (ptime) attributes.push({ ...ptime });
  // RFC 5761 §5.1.1: the answerer includes a=rtcp-mux if it multiplexes RTP and RTCP.
  if (hasRtcpMux(offered)) attributes.push({ name: "rtcp-mux" });
  attributes.push({ name: direction });
  return { media: offered.media, port, proto: offered.proto, formats, bandwidths: [], attributes, otherLines: [] };
}

/**
 * Options for {@linkcode createOffer}.
 *
 * @example
 * ```ts
 * import { createOffer, type OfferOptions } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const options: OfferOptions = { address: "192.0.2.1", port: 30000, sessionId: 5, sessionVersion: 2 };
 * const offer = createOffer(options);
 * assert.equal(offer.origin.sessionId, "5");
 * assert.equal(offer.origin.sessionVersion, "2");
 * assert.equal(offer.media[0].port, 30000);
 * assert.deepEqual(offer.media[0].formats, ["0", "8", "9", "96", "97"]); // DEFAULT_CODECS
 * ```
 */
export interface OfferOptions {
  /** The peer's own media address, IPv4 or IPv6. */
  address: string;
  /** The RTP port of the audio stream, an integer from 1 to 65535. */
  port: number;
  /** The `o=` session id: a non-negative integer or a string of digits. */
  sessionId: number | string;
  /** The `o=` session version: a non-negative integer or a string of digits. */
  sessionVersion: number | string;
  /** The codecs to offer (default {@linkcode DEFAULT_CODECS}); only audio ones are used. */
  codecs?: readonly Codec[];
  /** The `o=` username (default `-`). */
  username?: string;
  /** The `s=` line (default `-`). */
  sessionName?: string;
}

/**
 * Makes an offer for a 200 OK to an INVITE that came without one (RFC 3261 §13.2.1,
 * RFC 3264 §5): one `sendrecv` RTP/AVP audio stream with every audio codec of
 * `options.codecs`. Codecs with a static payload type (RFC 3551) use its number, the others
 * are numbered from 96; every format gets an `a=rtpmap` line, telephone-event an `a=fmtp`
 * line (`0-16` unless the codec says otherwise).
 *
 * @param options Our address, port, codecs and `o=` values.
 * @returns The offer.
 * @throws {TypeError} If an option is not of the form described.
 * @throws {RangeError} If the port is out of range, there is no audio codec, or more than 32
 *   codecs need a dynamic payload type.
 * @example
 * ```ts
 * import { createOffer, formatSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const offer = createOffer({
 *   address: "2001:db8::1",
 *   port: 30000,
 *   sessionId: 1,
 *   sessionVersion: 1,
 *   codecs: [{ name: "PCMU", clockRate: 8000 }, { name: "telephone-event", clockRate: 8000 }],
 * });
 * assert.equal(
 *   formatSdp(offer),
 *   "v=0\r\no=- 1 1 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\n" +
 *     "m=audio 30000 RTP/AVP 0 96\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:96 telephone-event/8000\r\n" +
 *     "a=fmtp:96 0-16\r\na=sendrecv\r\n",
 * );
 * ```
 */
export function createOffer(options: OfferOptions): SessionDescription {
  const origin = ourOrigin(options);
  const sessionName = textOption("sessionName", options.sessionName ?? "-");
  const port = portOption("port", options.port);
  const audio = (options.codecs ?? DEFAULT_CODECS).filter((c) => (c.media ?? "audio") === "audio");
  if (audio.length === 0) throw new RangeError("createOffer() needs at least one audio codec");
  const formats: string[] = [];
  const attributes: SdpAttribute[] = [];
  let nextDynamic = 96; // RFC 3551 §3: 96-127 are the dynamic payload types.
  for (const codec of audio) {
    let payloadType = staticPayloadType(codec);
    if (payloadType === undefined) {
      if (nextDynamic > 127) throw new RangeError("createOffer(): more codecs than dynamic payload types (96-127)");
      payloadType = nextDynamic++;
    }
    const channels = codec.channels === undefined ? "" : `/${codec.channels}`;
    formats.push(String(payloadType));
    attributes.push({ name: "rtpmap", value: `${payloadType} ${codec.name}/${codec.clockRate}${channels}` });
    const fmtp = codec.fmtp ?? (codec.name.toLowerCase() === "telephone-event" ? "0-16" : undefined);
    if (fmtp !== undefined) attributes.push({ name: "fmtp", value: `${payloadType} ${textOption("fmtp", fmtp)}` });
  }
  attributes.push({ name: "sendrecv" });
  return {
    version: 0,
    origin,
    sessionName,
    connection: { netType: "IN", addrType: origin.addrType, address: origin.address },
    bandwidths: [],
    timing: [{ start: 0, stop: 0, repeats: [] }],
    attributes: [],
    otherLines: [],
    media: [{ media: "audio", port, proto: "RTP/AVP", formats, bandwidths: [], attributes, otherLines: [] }],
  };
}

function staticPayloadType(codec: Codec): number | undefined {
  for (const [payloadType, known] of STATIC_PAYLOAD_TYPES) {
    const rtpmap = staticRtpmap(payloadType);
    if (rtpmap !== undefined && codecMatches(codec, known.media, rtpmap)) return payloadType;
  }
  return undefined;
}

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
 * import { checkAnswer, parseSdp } from "@sipecho/sipecho";
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
    const problem = checkAnsweredStream(offer, offer.media[i], answer, answer.media[i]);
    if (problem !== undefined) return `m-line ${i + 1} ${problem}`;
  }
  return undefined;
}

function checkAnsweredStream(
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
  if (!answered.formats.some((f) => isOfferedFormat(offered, answered, f))) {
    return `lists none of the offered formats (${offered.formats.join(" ")})`;
  }
  const offeredDirection = getDirection(offer, offered);
  const answeredDirection = getDirection(answer, answered);
  if (!ALLOWED_ANSWERS[offeredDirection].includes(answeredDirection)) {
    return `is ${answeredDirection} in the answer, which cannot answer ${offeredDirection}`;
  }
  return undefined;
}

function isOfferedFormat(offered: MediaDescription, answered: MediaDescription, format: string): boolean {
  const codec = getRtpmap(answered, format);
  if (codec === undefined) return offered.formats.includes(format);
  return offered.formats.some((f) => {
    const rtpmap = getRtpmap(offered, f);
    return rtpmap !== undefined && sameEncoding(rtpmap, codec);
  });
}

// ---------------------------------------------------------------------------------------------
// Checking options
// ---------------------------------------------------------------------------------------------

function ourOrigin(options: AnswerOptions | OfferOptions): SdpOrigin {
  const address = tokenOption("address", options.address).replace(/^\[(.*)\]$/, "$1");
  return {
    username: tokenOption("username", options.username ?? "-"),
    sessionId: decimalOption("sessionId", options.sessionId),
    sessionVersion: decimalOption("sessionVersion", options.sessionVersion),
    netType: "IN",
    // RFC 4566 §5.7: IP4 or IP6 by the form of the address.
    addrType: address.includes(":") ? "IP6" : "IP4",
    address,
  };
}

function decimalOption(name: string, value: number | string): string {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === "string" && DIGITS.test(value)) return value;
  throw new TypeError(`${name} must be a non-negative integer or a string of digits, not ${JSON.stringify(value)}`);
}

function tokenOption(name: string, value: string): string {
  if (typeof value !== "string" || !/^[!-~]+$/.test(value)) {
    throw new TypeError(`${name} must be a non-empty string without spaces, not ${JSON.stringify(value)}`);
  }
  return value;
}

function textOption(name: string, value: string): string {
  if (typeof value !== "string" || /[\r\n\0]/.test(value)) {
    throw new TypeError(`${name} must be a string without CR, LF or NUL, not ${JSON.stringify(value)}`);
  }
  return value;
}

function portOption(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new RangeError(`${name} must be an integer from 1 to 65535, not ${value}`);
  }
  return value;
}
