/**
 * Reading one header field (RFC 3261 §7.3.1): its name found among the known names, its value
 * cut with folding undone, and the headers the parser checks handed to the checks as they come.
 *
 * @module
 */

import { isToken, TOKEN_CHAR } from "./chars.ts";
import { canonicalHeaderName, type HeaderField } from "./headers.ts";
import type { SipMessage } from "./message.ts";
import { _cut, _findLf } from "./parse_bytes.ts";
import type { _Checks } from "./parse_checks.ts";
import { _lineError, _notEnded } from "./parse_errors.ts";
import { _canonicalName, _knownName, _NAMES, _NUMBERS, _VALIDATED } from "./parse_names.ts";

/**
 * Reads the header field that starts at bytes[pos] into `fields` and `checks`, and returns
 * where the next line starts. (A function of its own, apart from parse(): the engines compile a
 * small function to their fastest code sooner, and this one runs for every field.)
 */
export function _readHeaderField(
  bytes: Uint8Array,
  text: string,
  start: number,
  pos: number,
  message: SipMessage,
  checks: _Checks,
  fields: HeaderField[],
  maxHeaders: number,
): number {
  const length = bytes.length;
  const line = LINE;
  // field-name HCOLON (RFC 3261 §7.3.1, §25.1). A header the parser checks, written in its
  // canonical spelling and followed by ": ", is read by its fast path straight away, which
  // also finds where the value ends: when the line ends there and is not folded, the field
  // needs no other pass. Every other field is read by readField().
  const found = _canonicalName(bytes, pos);
  let number = found >> 5;
  let valueStart = pos + (found & 31) + 2;
  let end = -1;
  let next = -1;
  // A value after more than one space (SIPp writes "Content-Length:   129") takes the fast path too.
  if (found >= 0) { while (bytes[valueStart] === 0x20 && bytes[valueStart - 1] === 0x20) valueStart++; }
  if (found >= 0 && number < _VALIDATED.length && bytes[valueStart - 1] === 0x20 && bytes[valueStart] > 0x20) {
    const stop = checks.scan(number, bytes, text, valueStart, length, message);
    if (stop >= 0) {
      const lf = bytes[stop] === 13 ? stop + 1 : stop;
      if (bytes[lf] === 10 && bytes[lf + 1] !== 0x20 && bytes[lf + 1] !== 0x09) {
        end = stop;
        next = lf + 1;
      }
    }
  }
  let name: string;
  let value: string;
  const scanned = end >= 0;
  if (scanned) {
    name = _NAMES[number];
    value = _cut(bytes, text, valueStart, end);
  } else {
    value = readField(line, bytes, text, start, pos, found);
    name = line.name;
    number = line.number;
    valueStart = line.valueStart;
    end = line.end;
    next = line.next;
  }
  if (fields.length === maxHeaders) {
    throw _lineError(bytes, text, start, pos, `Message has more than ${maxHeaders} header fields`, "maxHeaders");
  }
  fields.push({ name, value });
  if (number >= 0 && number < _VALIDATED.length) {
    if (scanned) checks.keep(number, value, true);
    else checks.note(number, value, line.folded, bytes, text, valueStart, end, message);
  }
  return next;
}

/** Where readField() leaves what it read of a header field besides its value (every field, each time). */
class Line {
  name = "";
  number = -1;
  valueStart = 0;
  end = 0;
  next = 0;
  folded = false;
}

// One serves every field of every message: parse() never runs inside another parse().
const LINE = new Line();

/**
 * Reads the header field at bytes[pos] (RFC 3261 §7.3.1): returns its value, with folding undone,
 * and leaves the rest on `line`. Throws on a line that is not a header field. `found`: what
 * _canonicalName() found there.
 */
function readField(line: Line, bytes: Uint8Array, text: string, start: number, pos: number, found: number): string {
  const length = bytes.length;
  // field-name HCOLON: a token, then *( SP / HTAB ) ":"
  let i: number;
  let nameEnd: number;
  if (found >= 0) {
    i = nameEnd = pos + (found & 31);
  } else {
    i = pos;
    while (i < length && TOKEN_CHAR[bytes[i]] === 1) i++;
    nameEnd = i;
    while (i < length && (bytes[i] === 0x20 || bytes[i] === 0x09)) i++;
  }
  const plainName = bytes[i] === 0x3a && nameEnd > pos;
  // The field ends at the first line end not followed by whitespace.
  let lineEnd = _findLf(bytes, text, plainName ? i : pos);
  if (lineEnd < 0) throw _notEnded(bytes);
  let next = lineEnd + 1;
  let folded = false;
  while (bytes[next] === 0x20 || bytes[next] === 0x09) {
    folded = true;
    lineEnd = _findLf(bytes, text, next);
    if (lineEnd < 0) throw _notEnded(bytes);
    next = lineEnd + 1;
  }
  let end = bytes[lineEnd - 1] === 13 ? lineEnd - 1 : lineEnd;
  let colon = i;
  let number: number;
  if (plainName) {
    // A known name (in any case), else a token that is no known name, kept as written.
    number = found >= 0 ? found >> 5 : _knownName(bytes, pos, nameEnd);
    line.name = number >= 0 ? _NAMES[number] : _cut(bytes, text, pos, nameEnd);
  } else {
    line.name = readUnusualName(bytes, text, start, pos, end);
    number = _NUMBERS.get(line.name) ?? -1;
    colon = bytes.indexOf(0x3a, pos);
  }
  let valueStart = colon + 1;
  if (bytes[valueStart] === 0x20 && bytes[valueStart + 1] > 0x20) valueStart++;
  else while (valueStart < end && isLws(bytes[valueStart])) valueStart++;
  while (end > valueStart && isLws(bytes[end - 1])) end--;
  line.number = number;
  line.valueStart = valueStart;
  line.end = end;
  line.next = next;
  line.folded = folded;
  const value = _cut(bytes, text, valueStart, end);
  return folded ? value.replace(/[ \t]*\r?\n[ \t]+/g, " ") : value;
}

/**
 * A header line that does not start with a token and a colon, read as text: the canonical
 * name, or a SipParseError (RFC 3261 §7.3.1).
 */
function readUnusualName(bytes: Uint8Array, text: string, start: number, pos: number, end: number): string {
  const colon = bytes.indexOf(0x3a, pos);
  if (colon < 0 || colon >= end) {
    const line = _cut(bytes, text, pos, end).slice(0, 40);
    throw _lineError(bytes, text, start, pos, `Cannot parse header line "${line}": no colon`);
  }
  let trimmed = colon;
  while (trimmed > pos && (bytes[trimmed - 1] === 0x20 || bytes[trimmed - 1] === 0x09)) trimmed--;
  const raw = _cut(bytes, text, pos, trimmed);
  const name = canonicalHeaderName(raw);
  if (name === raw && !isToken(raw)) {
    throw _lineError(bytes, text, start, pos, `Cannot parse header line: "${raw}" is not a header name`);
  }
  return name;
}

function isLws(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}
