/**
 * Reading a session description (RFC 4566 §5) into the model of `sdp_types.ts`.
 *
 * @module
 */

import {
  type MediaDescription,
  type SdpAttribute,
  type SdpBandwidth,
  type SdpConnection,
  SdpError,
  type SdpLine,
  type SdpOrigin,
  type SdpTiming,
  type SessionDescription,
} from "./sdp_types.ts";
import { _DIGITS, _fields, _MEDIA_ORDER, _SESSION_ORDER, _sortOtherLines, _TOKEN } from "./sdp_grammar.ts";

type _Fail = (problem: string) => SdpError;

/** The session-level fields while they are being read; `origin` and `sessionName` come later. */
interface _SessionDraft {
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
 * import { getDirection, getRtpmap } from "@sipecho/sipecho/sdp";
 * import { parseSdp } from "@sipecho/sipecho";
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
  const lines = _splitLines(text);
  if (lines.length === 0) throw new SdpError("the description is empty");
  // RFC 4566 §5.1: the first line is "v=0".
  if (lines[0] !== "v=0") {
    const problem = lines[0].startsWith("v=") ? "the version is not 0" : 'the first line must be "v=0"';
    throw new SdpError(problem, 1, lines[0]);
  }
  const session: _SessionDraft = { bandwidths: [], timing: [], attributes: [], otherLines: [] };
  const media: MediaDescription[] = [];
  const mediaLineNumbers: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const fail: _Fail = (problem) => new SdpError(problem, i + 1, line);
    // RFC 4566 §5: <type>=<value>, where <type> is exactly one case-significant character.
    const letter = line.charCodeAt(0);
    if (!(letter >= 0x61 && letter <= 0x7a && line.charCodeAt(1) === 0x3d)) {
      throw fail('a line must be "<type>=<value>" with a lowercase type letter');
    }
    const type = line[0];
    const value = line.slice(2);
    if (type === "m") {
      media.push(_parseMediaLine(value, fail));
      mediaLineNumbers.push(i + 1);
    } else if (media.length > 0) {
      _readMediaLine(media[media.length - 1], type, value, fail);
    } else {
      _readSessionLine(session, type, value, fail);
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
  _sortOtherLines(session.otherLines, _SESSION_ORDER);
  for (const m of media) _sortOtherLines(m.otherLines, _MEDIA_ORDER);
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
function _splitLines(text: string): string[] {
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

function _readSessionLine(session: _SessionDraft, type: string, value: string, fail: _Fail): void {
  switch (type) {
    case "v":
      throw fail('"v=" may only be the first line');
    case "o": // RFC 4566 §5.2
      if (session.origin !== undefined) throw fail('a second origin line ("o=")');
      session.origin = _parseOrigin(value, fail);
      return;
    case "s": // RFC 4566 §5.3
      if (session.sessionName !== undefined) throw fail('a second session name line ("s=")');
      session.sessionName = value;
      return;
    case "c":
      if (session.connection !== undefined) throw fail('a second connection line ("c=") at session level');
      session.connection = _parseConnection(value, fail);
      return;
    case "b":
      session.bandwidths.push(_parseBandwidth(value, fail));
      return;
    case "t":
      session.timing.push(_parseTiming(value, fail));
      return;
    case "r": // RFC 4566 §5.10: repeat times belong to the t= line before them.
      if (session.timing.length === 0) throw fail('a repeat line ("r=") must follow a "t=" line');
      session.timing[session.timing.length - 1].repeats.push(value);
      return;
    case "a":
      session.attributes.push(_parseAttribute(value, fail));
      return;
    default:
      session.otherLines.push({ type, value });
  }
}

function _readMediaLine(media: MediaDescription, type: string, value: string, fail: _Fail): void {
  switch (type) {
    case "c":
      if (media.connection !== undefined) throw fail('a second connection line ("c=") in one media description');
      media.connection = _parseConnection(value, fail);
      return;
    case "b":
      media.bandwidths.push(_parseBandwidth(value, fail));
      return;
    case "a":
      media.attributes.push(_parseAttribute(value, fail));
      return;
    default:
      // RFC 4566 §5: a media description holds only i=, c=, b=, k= and a= lines.
      if (_SESSION_ORDER.includes(type) && !_MEDIA_ORDER.includes(type)) {
        throw fail(`"${type}=" is not allowed in a media description`);
      }
      media.otherLines.push({ type, value });
  }
}

// RFC 4566 §5.2: o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
function _parseOrigin(value: string, fail: _Fail): SdpOrigin {
  const f = _fields(value);
  if (f.length !== 6) {
    throw fail("the origin must be <username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>");
  }
  const [username, sessionId, sessionVersion, netType, addrType, address] = f;
  if (!_DIGITS.test(sessionId)) throw fail("the session id is not a number");
  if (!_DIGITS.test(sessionVersion)) throw fail("the session version is not a number");
  return { username, sessionId, sessionVersion, netType, addrType, address };
}

// RFC 4566 §5.7: c=<nettype> <addrtype> <connection-address>, where a multicast address may
// carry /<ttl>[/<number of addresses>] (IP4) or /<number of addresses> (IP6).
function _parseConnection(value: string, fail: _Fail): SdpConnection {
  const f = _fields(value);
  if (f.length === 2) throw fail("connection address is missing");
  if (f.length !== 3) throw fail("the connection must be <nettype> <addrtype> <connection-address>");
  const [netType, addrType, written] = f;
  const connection: SdpConnection = { netType, addrType, address: written };
  const parts = written.split("/");
  if (parts.length === 1 || (addrType !== "IP4" && addrType !== "IP6")) return connection;
  const numbers = parts.slice(1);
  if (numbers.length > (addrType === "IP4" ? 2 : 1) || !numbers.every((n) => _DIGITS.test(n))) {
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
function _parseBandwidth(value: string, fail: _Fail): SdpBandwidth {
  const colon = value.indexOf(":");
  const type = value.slice(0, colon);
  const amount = value.slice(colon + 1).trim();
  if (colon < 0 || !_TOKEN.test(type) || !_DIGITS.test(amount)) {
    throw fail("the bandwidth must be <bwtype>:<bandwidth>");
  }
  return { type, value: Number(amount) };
}

// RFC 4566 §5.9: t=<start-time> <stop-time>
function _parseTiming(value: string, fail: _Fail): SdpTiming {
  const f = _fields(value);
  if (f.length !== 2 || !f.every((n) => _DIGITS.test(n))) throw fail("the timing must be <start-time> <stop-time>");
  return { start: Number(f[0]), stop: Number(f[1]), repeats: [] };
}

// RFC 4566 §5.13: a=<attribute> or a=<attribute>:<value>
function _parseAttribute(value: string, fail: _Fail): SdpAttribute {
  const colon = value.indexOf(":");
  const name = colon < 0 ? value : value.slice(0, colon);
  if (!_TOKEN.test(name)) throw fail("the attribute name is missing or not a token");
  return colon < 0 ? { name } : { name, value: value.slice(colon + 1) };
}

// RFC 4566 §5.14: m=<media> <port>[/<number of ports>] <proto> <fmt> ...
function _parseMediaLine(value: string, fail: _Fail): MediaDescription {
  const f = _fields(value);
  if (f.length < 4) throw fail("the media line must be <media> <port> <proto> <fmt> ...");
  const [media, portText, proto, ...formats] = f;
  const [port, count, ...extra] = portText.split("/");
  if (!_DIGITS.test(port) || Number(port) > 65535) throw fail("the port is not a number from 0 to 65535");
  if (extra.length > 0 || (count !== undefined && (!_DIGITS.test(count) || Number(count) === 0))) {
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
