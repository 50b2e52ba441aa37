/**
 * Reading the start line (RFC 3261 §7.1 Request-Line, §7.2 Status-Line): in the bytes for its
 * common forms, else on the text by the exact reader, which gives the detailed errors (505 for a
 * SIP-Version other than 2.0, RFC 3261 §8.2.2).
 *
 * @module
 */

import { SipParseError } from "./errors.ts";
import { isToken, TOKEN_CHAR } from "./chars.ts";
import { scanPlainRequestUri } from "./grammar.ts";
import { SipHeaders } from "./headers.ts";
import { type SipMessage, SipRequest, SipResponse } from "./message.ts";
import { _cut, _readNumber, _scanDigits } from "./parse_bytes.ts";
import type { _Checks } from "./parse_checks.ts";

const NO_HEADERS = new SipHeaders();
const encoder = new TextEncoder();

/** Is "SIP/2.0" at bytes[at]? */
function isSip20(bytes: Uint8Array, at: number): boolean {
  return bytes[at] === 0x53 && bytes[at + 1] === 0x49 && bytes[at + 2] === 0x50 && bytes[at + 3] === 0x2f &&
    bytes[at + 4] === 0x32 && bytes[at + 5] === 0x2e && bytes[at + 6] === 0x30;
}

/**
 * The start line in bytes[start, stop), read in the bytes in its common forms:
 * `Method SP Request-URI SP SIP/2.0` (RFC 3261 §7.1) or `SIP/2.0 SP Status-Code SP
 * Reason-Phrase` (§7.2). Undefined for anything else, which _parseStartLine() reads, or rejects,
 * on the text.
 */
export function _readStartLine(
  bytes: Uint8Array,
  text: string,
  start: number,
  stop: number,
  checks: _Checks,
): SipMessage | undefined {
  return isSip20(bytes, start)
    ? readStatusLine(bytes, text, start, stop)
    : readRequestLine(bytes, text, start, stop, checks);
}

/** Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2), as _readStartLine(). */
function readStatusLine(bytes: Uint8Array, text: string, start: number, stop: number): SipResponse | undefined {
  // Status-Code = 3DIGIT, 100..699 (RFC 3261 §7.2, §21)
  const code = start + 8;
  if (bytes[start + 7] !== 0x20 || stop < code + 3 || (stop > code + 3 && bytes[code + 3] !== 0x20)) return undefined;
  if (_scanDigits(bytes, code, code + 3) !== code + 3) return undefined;
  const status = _readNumber(bytes, code, code + 3);
  if (status < 100 || status > 699) return undefined;
  const reason = stop > code + 4 ? _cut(bytes, text, code + 4, stop) : "";
  return new SipResponse({ status, reason, version: SIP_2_0, headers: NO_HEADERS });
}

/** Request-Line = Method SP Request-URI SP SIP-Version (RFC 3261 §7.1), as _readStartLine(). */
function readRequestLine(
  bytes: Uint8Array,
  text: string,
  start: number,
  stop: number,
  checks: _Checks,
): SipRequest | undefined {
  let i = start;
  while (i < stop && TOKEN_CHAR[bytes[i]] === 1) i++;
  const sp1 = i;
  if (sp1 === start || sp1 >= stop || bytes[sp1] !== 0x20) return undefined;
  // The Request-URI, through its fast path if it is a SIP or SIPS URI (which never holds a space).
  i = scanPlainRequestUri(bytes, sp1 + 1, stop);
  checks.plainUri = i > sp1 + 1 && bytes[i] === 0x20;
  if (!checks.plainUri) {
    i = sp1 + 1;
    while (i < stop && bytes[i] !== 0x20) i++;
  }
  const sp2 = i;
  // One space each side of the Request-URI, which is not in <> (RFC 3261 §7.1).
  if (sp2 === sp1 + 1 || bytes[sp1 + 1] === 0x3c || stop - sp2 !== 8 || !isSip20(bytes, sp2 + 1)) return undefined;
  checks.methodStart = start;
  checks.methodEnd = sp1;
  const method = _cut(bytes, text, start, sp1);
  const uri = _cut(bytes, text, sp1 + 1, sp2);
  return new SipRequest({ method, uri, version: SIP_2_0, headers: NO_HEADERS });
}

const SIP_2_0 = "SIP/2.0";

/** The byte offset of character `index` of a line that starts at byte offset `start`. */
function lineOffset(line: string, start: number, oneBytePerChar: boolean, index: number): number {
  return start + (oneBytePerChar ? index : encoder.encode(line.slice(0, index)).length);
}

/**
 * Reads the start line from its text, exactly, or throws the SipParseError that names the problem.
 * `oneBytePerChar`: the line is ASCII, so that a character index is a byte offset.
 */
export function _parseStartLine(line: string, start: number, oneBytePerChar: boolean): SipMessage {
  const sp1 = line.indexOf(" ");
  // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2)
  if (line.startsWith("SIP/") || line.startsWith("sip/")) {
    const version = sp1 < 0 ? line : line.slice(0, sp1);
    checkVersion(version, lineOffset(line, start, oneBytePerChar, 0));
    const code = line.slice(sp1 + 1, sp1 + 4);
    const after = line.charCodeAt(sp1 + 4);
    if (sp1 < 0 || !isStatusCode(code) || (sp1 + 4 < line.length && after !== 0x20)) {
      throw new SipParseError(
        `Cannot parse status line "${line.slice(0, 60)}": status code must be 3 digits 100..699`,
        lineOffset(line, start, oneBytePerChar, sp1 + 1),
      );
    }
    return new SipResponse({ status: Number(code), reason: line.slice(sp1 + 5), version, headers: NO_HEADERS });
  }
  // Request-Line = Method SP Request-URI SP SIP-Version (RFC 3261 §7.1): exactly two single spaces.
  const sp2 = line.indexOf(" ", sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || sp2 === sp1 + 1 || sp2 === line.length - 1 || line.indexOf(" ", sp2 + 1) >= 0) {
    throw new SipParseError(
      `Cannot parse request line "${
        line.slice(0, 80)
      }": it must be Method SP Request-URI SP SIP-Version, with single spaces and no whitespace in the Request-URI`,
      lineOffset(line, start, oneBytePerChar, 0),
    );
  }
  const method = line.slice(0, sp1);
  const uri = line.slice(sp1 + 1, sp2);
  const version = line.slice(sp2 + 1);
  if (!isToken(method)) {
    throw new SipParseError(
      `Cannot parse request line: method "${method}" is not a token`,
      lineOffset(line, start, oneBytePerChar, 0),
    );
  }
  checkVersion(version, lineOffset(line, start, oneBytePerChar, sp2 + 1));
  if (uri.charCodeAt(0) === 0x3c) {
    throw new SipParseError(
      `Cannot parse request line: Request-URI "${uri}" must not be enclosed in <>`,
      lineOffset(line, start, oneBytePerChar, sp1 + 1),
    );
  }
  return new SipRequest({ method, uri, version, headers: NO_HEADERS });
}

// Status-Code = 3DIGIT, 100..699 (RFC 3261 §7.2, §21)
function isStatusCode(code: string): boolean {
  const c0 = code.charCodeAt(0);
  const c1 = code.charCodeAt(1);
  const c2 = code.charCodeAt(2);
  return code.length === 3 && c0 >= 0x31 && c0 <= 0x36 && c1 >= 0x30 && c1 <= 0x39 && c2 >= 0x30 && c2 <= 0x39;
}

// RFC 3261 §7.1: SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT; §8.2.2: anything but 2.0 gets 505.
function checkVersion(version: string, offset: number): void {
  if (version === "SIP/2.0") return;
  if (!/^SIP\/[0-9]+\.[0-9]+$/i.test(version)) {
    throw new SipParseError(`Cannot parse start line: "${version}" is not a SIP-Version`, offset);
  }
  if (version.slice(4) !== "2.0") {
    throw new SipParseError(`SIP-Version "${version}" is not supported (only SIP/2.0)`, offset, 505);
  }
}
