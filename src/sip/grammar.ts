/**
 * The parts of the RFC 3261 §25.1 ABNF that the parser checks eagerly, written as regular
 * expressions, and fast paths that check the common shapes of the same values in the bytes.
 * Both check a header value in one pass without allocating, which is what lets
 * {@linkcode parseMessage} validate every mandatory header and still build the structured views
 * lazily.
 *
 * Each expression accepts exactly what the matching view function in header_values.ts or
 * uri.ts accepts, and each fast path accepts no more than its expression (tests/grammar_test.ts
 * holds them to that); the view functions give the detailed error message when an expression
 * says no.
 *
 * @module
 */

import { CHAR_CLASS, CharClass, isDigit, isHexDigit } from "./chars.ts";

// token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
const TOKEN_CHARS = "A-Za-z0-9\\-.!%*_+`'~";
const TOKEN = `[${TOKEN_CHARS}]+`;
// Header values reach the grammar with folding undone: no CR or LF is left in them.
const LWS = "[ \\t]*";
// Loops below are written "unrolled" (a run of plain characters, then each escape followed by
// another run) rather than as a loop over an alternation: the same language, but the engines
// match a run of one character class without keeping a backtrack point per character.
const QUOTED = '"[^"\\\\]*(?:\\\\[\\s\\S][^"\\\\]*)*"';
const IPV6_REF = "\\[[0-9A-Fa-f:.]+\\]"; // tolerant of RFC 5118 §4.10
const HOSTNAME = "[A-Za-z0-9](?:[A-Za-z0-9.\\-]*[A-Za-z0-9.])?";
const HOST = `(?:${IPV6_REF}|${HOSTNAME})`;
// Ports below 10000 first: the common case matches on the first alternative.
const PORT = "(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
const ESCAPED = "%[0-9A-Fa-f]{2}";
/** `*( chars / escaped )`, unrolled. */
const many = (chars: string) => `[${chars}]*(?:${ESCAPED}[${chars}]*)*`;
/** `1*( chars / escaped )`, unrolled. */
const some = (chars: string) => `(?:[${chars}]|${ESCAPED})${many(chars)}`;
// A parameter name that is exactly one of `names` (case-insensitive), not a longer token.
const not = (names: string) => `(?!(?:${names})(?![${TOKEN_CHARS}]))`;
// gen-value = token / host / quoted-string
const GEN_VALUE = `(?:[${TOKEN_CHARS}\\[\\]:]+|${QUOTED})`;
const GENERIC = `${TOKEN}(?:${LWS}=${LWS}${GEN_VALUE})?`;
const SEMI = `${LWS};${LWS}`;
const EQUAL = `${LWS}=${LWS}`;

// SIP-URI (RFC 3261 §19.1.1): the userinfo ends at the first "@"; the host part ends at ";" or "?".
const USER = some("A-Za-z0-9\\-_.!~*'()&=+$,;?/");
const PASSWORD = many("A-Za-z0-9\\-_.!~*'()&=+$,");
const PARAMCHAR = some("A-Za-z0-9\\-_.!~*'()\\[\\]/:&+$");
const HCHARS = "A-Za-z0-9\\-_.!~*'()\\[\\]/?:+$";
const SIP_USERINFO_HOSTPORT = `[Ss][Ii][Pp][Ss]?:(?:${USER}(?::${PASSWORD})?@)?${HOST}(?::${PORT})?`;
const URI_PARAMS = `(?:;${PARAMCHAR}(?:=${PARAMCHAR})?)*`;
const URI_HEADERS = `(?:\\?${some(HCHARS)}=${many(HCHARS)}(?:&${some(HCHARS)}=${many(HCHARS)})*)?`;
const TEL = `[Tt][Ee][Ll]:\\+?[0-9A-Fa-f*#()\\-.]+`;
const OTHER_SCHEME = "(?![Ss][Ii][Pp][Ss]?:|[Tt][Ee][Ll]:)[A-Za-z][A-Za-z0-9+.\\-]*:";
// Any URI as parseUri accepts it.
const URI = `(?:${SIP_USERINFO_HOSTPORT}${URI_PARAMS}${URI_HEADERS}|${TEL}${URI_PARAMS}|${OTHER_SCHEME}[^\\s<>"]+)`;
// addr-spec outside <>: no parameters (they belong to the header), no ";", "?" or "," in the
// URI (RFC 3261 §20.10).
const PLAIN_USER = some("A-Za-z0-9\\-_.!~*'()&=+$/");
const PLAIN_PASSWORD = many("A-Za-z0-9\\-_.!~*'()&=+$");
const ADDR_SPEC = `(?:[Ss][Ii][Pp][Ss]?:(?:${PLAIN_USER}(?::${PLAIN_PASSWORD})?@)?${HOST}(?::${PORT})?` +
  `|${TEL}|${OTHER_SCHEME}[^\\s<>";?,]+)`;
// name-addr = [ display-name ] LAQUOT addr-spec RAQUOT, display-name = *(token LWS) / quoted-string
const NAME_ADDR = `(?:(?:${QUOTED}|${TOKEN}(?:[ \\t]+${TOKEN})*)?${LWS}<${URI}>|${ADDR_SPEC})`;

/** Request-URI: a SIP or SIPS URI with no headers, a tel URI, or another absolute URI. */
export const REQUEST_URI: RegExp = new RegExp(
  `^(?:${SIP_USERINFO_HOSTPORT}${URI_PARAMS}|${TEL}${URI_PARAMS}|${OTHER_SCHEME}[^\\s<>"]+)$`,
);

// via-params = via-ttl / via-maddr / via-received / via-branch / response-port (RFC 3581) / via-extension
const VIA_PARAM = `(?:ttl${EQUAL}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|0?[0-9]{1,2})` +
  `|maddr${EQUAL}${HOST}` +
  `|received${EQUAL}(?:[0-9.]+|\\[?[0-9A-Fa-f:.]+\\]?)` +
  `|branch${EQUAL}${TOKEN}` +
  `|rport(?:${EQUAL}${PORT})?` +
  `|${not("ttl|maddr|received|branch|rport")}${GENERIC})`;

/** One Via value (RFC 3261 §25.1 via-parm). */
export const VIA: RegExp = new RegExp(
  `^${LWS}${TOKEN}${LWS}/${LWS}${TOKEN}${LWS}/${LWS}${TOKEN}[ \\t]+${HOST}(?:${LWS}:${LWS}${PORT})?` +
    `(?:${SEMI}${VIA_PARAM})*${LWS}$`,
  "i",
);

/** From or To (RFC 3261 §20.20, §20.39): a tag parameter needs a value. */
export const FROM_TO: RegExp = new RegExp(
  `^${LWS}${NAME_ADDR}(?:${SEMI}(?:tag${EQUAL}${GEN_VALUE}|${not("tag")}${GENERIC}))*${LWS}$`,
  "i",
);

/** One Contact value (RFC 3261 §20.10): q is 0..1 with up to three decimals, expires a number. */
export const CONTACT: RegExp = new RegExp(
  `^${LWS}${NAME_ADDR}(?:${SEMI}(?:q${EQUAL}(?:0(?:\\.[0-9]{0,3})?|1(?:\\.0{0,3})?)` +
    `|expires${EQUAL}[0-9]+|tag${EQUAL}${GEN_VALUE}|${not("q|expires|tag")}${GENERIC}))*${LWS}$`,
  "i",
);

/** Call-ID = word [ "@" word ] (RFC 3261 §25.1). */
export const CALL_ID: RegExp = /^[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]+(?:@[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]+)?$/;

// ---------------------------------------------------------------------------------------------
// Fast paths. Each function below scans the common shape of one value by hand, in one pass over
// its bytes and without allocating, and answers true only if the value (read as Latin-1) is in
// the language of the expression above it: on anything unusual (LWS around separators, escapes
// it does not follow, other URI schemes, octets over 127) it answers false, and the caller asks
// the expression. So a fast path may be narrower than its expression, never wider
// (tests/grammar_test.ts checks this). They read bytes rather than characters because the
// engines index a Uint8Array faster than they read a string.
//
// Each takes the value as b[start, end). The octet at b[end], if any, must be SP, HTAB, CR or LF
// (as it is after a header value or a Request-URI): no character the grammar uses. The scan*
// forms read as far as the fast path goes and say where they stopped, so that the parser can
// check a header value and find the end of its line in one pass.

// Character classes of RFC 3261 §25.1, one bit each (src/sip/chars.ts), as local constants.
const CLASS = CHAR_CLASS;
const {
  TOKEN: C_TOKEN,
  HOST: C_HOST,
  USER: C_USER,
  PASSWORD: C_PASSWORD,
  PARAM: C_PARAM,
  VALUE: C_VALUE,
  WORD: C_WORD,
  HEX6: C_HEX6,
  HCHAR: C_HCHAR,
  PLAIN_USER: C_PLAIN_USER,
  PLAIN_PASSWORD: C_PLAIN_PASSWORD,
} = CharClass;

/** The index after the run of octets of class `bit` from i (not past end). */
function run(b: Uint8Array, i: number, end: number, bit: number): number {
  while (i < end && (CLASS[b[i]] & bit) !== 0) i++;
  return i;
}

/** `*( chars / escaped )` from i: the index after it, or -1 at a "%" that is not an escape. */
function runEscaped(b: Uint8Array, i: number, end: number, bit: number): number {
  for (;;) {
    i = run(b, i, end, bit);
    if (i >= end || b[i] !== 0x25) return i;
    if (i + 2 >= end || !isHexDigit(b[i + 1]) || !isHexDigit(b[i + 2])) return -1;
    i += 3;
  }
}

function skipSpaces(b: Uint8Array, i: number, end: number): number {
  while (i < end && (b[i] === 0x20 || b[i] === 0x09)) i++;
  return i;
}

/** Is b[i, j) the lower-case word `lower`, in any case? (Token characters fold with | 0x20.) */
function isWord(b: Uint8Array, i: number, j: number, lower: string): boolean {
  if (j - i !== lower.length) return false;
  for (let k = 0; k < lower.length; k++) if ((b[i + k] | 0x20) !== lower.charCodeAt(k)) return false;
  return true;
}

// The parameter names met most often, compared unrolled (the engines do not unroll isWord).
function isTag(b: Uint8Array, i: number, j: number): boolean {
  return j - i === 3 && (b[i] | 0x20) === 0x74 && (b[i + 1] | 0x20) === 0x61 && (b[i + 2] | 0x20) === 0x67;
}

function isBranch(b: Uint8Array, i: number): boolean {
  return (b[i] | 0x20) === 0x62 && (b[i + 1] | 0x20) === 0x72 && (b[i + 2] | 0x20) === 0x61 &&
    (b[i + 3] | 0x20) === 0x6e && (b[i + 4] | 0x20) === 0x63 && (b[i + 5] | 0x20) === 0x68;
}

function isRport(b: Uint8Array, i: number): boolean {
  return (b[i] | 0x20) === 0x72 && (b[i + 1] | 0x20) === 0x70 && (b[i + 2] | 0x20) === 0x6f &&
    (b[i + 3] | 0x20) === 0x72 && (b[i + 4] | 0x20) === 0x74;
}

/** host = hostname / IPv4address / IPv6reference (RFC 3261 §25.1): the index after it, or -1. */
function scanHost(b: Uint8Array, i: number, end: number): number {
  if (i >= end) return -1;
  const c = b[i];
  if (c === 0x5b) {
    const j = run(b, i + 1, end, C_HEX6);
    return j > i + 1 && b[j] === 0x5d && j < end ? j + 1 : -1;
  }
  if ((CLASS[c] & C_HOST) === 0 || c === 0x2d || c === 0x2e) return -1;
  const j = run(b, i + 1, end, C_HOST);
  return b[j - 1] === 0x2d ? -1 : j;
}

/** port = 1*DIGIT, 0..65535 as PORT reads it: up to 4 digits, or 5 from 10000. -1 if not. */
function scanPort(b: Uint8Array, i: number, end: number): number {
  let j = i;
  let n = 0;
  while (j < end && j - i < 6 && isDigit(b[j])) n = n * 10 + b[j++] - 0x30;
  const length = j - i;
  if (length === 0 || length > 5 || (length === 5 && (n < 10000 || n > 65535))) return -1;
  return j;
}

/**
 * quoted-string from the opening quote (RFC 3261 §25.1): the index after it, or -1 (also at a
 * CR or LF, which the fast path leaves to the expressions).
 */
function scanQuoted(b: Uint8Array, i: number, end: number): number {
  for (let j = i + 1; j < end; j++) {
    const c = b[j];
    if (c === 0x22) return j + 1;
    if (c === 0x0d || c === 0x0a) return -1;
    if (c === 0x5c) j++; // quoted-pair
  }
  return -1;
}

/** gen-value = token / host / quoted-string, as GEN_VALUE reads it. */
function scanGenValue(b: Uint8Array, i: number, end: number): number {
  if (i < end && b[i] === 0x22) return scanQuoted(b, i, end);
  const j = run(b, i, end, C_VALUE);
  return j > i ? j : -1;
}

/** 1*DIGIT from i: the index after it, or -1 if there is no digit. */
function scanDigits(b: Uint8Array, i: number, end: number): number {
  let j = i;
  while (j < end && isDigit(b[j])) j++;
  return j > i ? j : -1;
}

/**
 * SIP-URI / SIPS-URI (RFC 3261 §19.1.1, §25.1) from i, as URI reads it: the index after it, or
 * -1. `headers`: whether `?` headers may follow. `plain`: the addr-spec form outside `<>`, where
 * the user part holds no ";", "?" or "," and the URI ends before any parameter.
 */
function scanSipUri(b: Uint8Array, i: number, end: number, headers: boolean, plain: boolean): number {
  if (i + 4 > end || (b[i] | 0x20) !== 0x73 || (b[i + 1] | 0x20) !== 0x69 || (b[i + 2] | 0x20) !== 0x70) return -1;
  i += 3;
  if ((b[i] | 0x20) === 0x73) i++;
  if (b[i] !== 0x3a) return -1;
  i++;
  // userinfo = user [ ":" password ] "@": the user part runs to an "@" (or to ":" and then one).
  const user = runEscaped(b, i, end, plain ? C_PLAIN_USER : C_USER);
  if (user < 0) return -1;
  if (b[user] === 0x40 && user < end) {
    if (user === i) return -1;
    i = user + 1;
  } else if (b[user] === 0x3a && user > i) {
    const password = runEscaped(b, user + 1, end, plain ? C_PLAIN_PASSWORD : C_PASSWORD);
    if (password >= 0 && password < end && b[password] === 0x40) i = password + 1;
  }
  i = scanHost(b, i, end);
  if (i < 0) return -1;
  if (i < end && b[i] === 0x3a) {
    i = scanPort(b, i + 1, end);
    if (i < 0) return -1;
  }
  if (plain) return i;
  // uri-parameters = *( ";" pname [ "=" pvalue ] )
  while (i < end && b[i] === 0x3b) {
    const name = runEscaped(b, i + 1, end, C_PARAM);
    if (name <= i + 1) return -1;
    i = name;
    if (i < end && b[i] === 0x3d) {
      const value = runEscaped(b, i + 1, end, C_PARAM);
      if (value <= i + 1) return -1;
      i = value;
    }
  }
  return headers && i < end && b[i] === 0x3f ? scanUriHeaders(b, i, end) : i;
}

/** headers = "?" header *( "&" header ), header = hname "=" hvalue, from the "?": as scan*. */
function scanUriHeaders(b: Uint8Array, i: number, end: number): number {
  do {
    const name = runEscaped(b, i + 1, end, C_HCHAR);
    if (name <= i + 1 || name >= end || b[name] !== 0x3d) return -1;
    i = runEscaped(b, name + 1, end, C_HCHAR);
    if (i < 0) return -1;
  } while (i < end && b[i] === 0x26);
  return i;
}

/**
 * name-addr / addr-spec (RFC 3261 §20.10, §25.1) from i, as NAME_ADDR reads it, for SIP and SIPS
 * URIs: the index after it, or -1.
 */
function scanNameAddr(b: Uint8Array, i: number, end: number): number {
  if (i >= end) return -1;
  if (b[i] === 0x22) {
    // display-name = quoted-string, then LWS "<"
    i = scanQuoted(b, i, end);
    if (i < 0) return -1;
    i = skipSpaces(b, i, end);
    if (i >= end || b[i] !== 0x3c) return -1;
  } else if (b[i] !== 0x3c) {
    // display-name = *(token LWS), then LWS "<"; or an addr-spec
    const first = i;
    for (;;) {
      const j = run(b, i, end, C_TOKEN);
      if (j === i) return -1;
      i = skipSpaces(b, j, end);
      if (i >= end) return -1;
      if (b[i] === 0x3c) break;
      // No LWS after a token and no "<": an addr-spec if the token was a scheme.
      if (i === j) return b[i] === 0x3a ? scanSipUri(b, first, end, false, true) : -1;
    }
  }
  i = scanSipUri(b, i + 1, end, true, false);
  return i >= 0 && i < end && b[i] === 0x3e ? i + 1 : -1;
}

/**
 * Header parameters after a name-addr: `*( SEMI (tag / q / expires / generic-param) )`, as
 * FROM_TO (`contact` false) or CONTACT (`contact` true) read them. The index after them, or -1.
 */
function scanAddressParams(b: Uint8Array, i: number, end: number, contact: boolean): number {
  while (i < end && b[i] === 0x3b) {
    const start = i + 1;
    const name = run(b, start, end, C_TOKEN);
    if (name === start) return -1;
    const hasValue = name < end && b[name] === 0x3d;
    if (isTag(b, start, name)) {
      if (!hasValue) return -1;
      i = scanGenValue(b, name + 1, end);
    } else if (contact && isWord(b, start, name, "expires")) {
      if (!hasValue) return -1;
      i = scanDigits(b, name + 1, end);
    } else if (contact && name - start === 1 && (b[start] | 0x20) === 0x71) {
      // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
      const d = b[name + 1];
      if (!hasValue || name + 1 >= end || (d !== 0x30 && d !== 0x31)) return -1;
      i = name + 2;
      if (i < end && b[i] === 0x2e) {
        const decimals = ++i;
        while (i < end && i - decimals < 3 && (d === 0x30 ? isDigit(b[i]) : b[i] === 0x30)) i++;
      }
    } else {
      i = hasValue ? scanGenValue(b, name + 1, end) : name;
    }
    if (i < 0) return -1;
  }
  return i;
}

/**
 * via-params = via-ttl / via-maddr / via-received / via-branch / response-port (RFC 3581) /
 * via-extension, from `start` (after the ";"), as VIA reads them: the index after, or -1.
 */
function scanViaParam(b: Uint8Array, start: number, end: number): number {
  const name = run(b, start, end, C_TOKEN);
  if (name === start) return -1;
  const hasValue = name < end && b[name] === 0x3d;
  const value = name + 1;
  switch (name - start) {
    case 6:
      if (isBranch(b, start)) {
        // via-branch = "branch" EQUAL token
        const i = hasValue ? run(b, value, end, C_TOKEN) : value;
        return i === value ? -1 : i;
      }
      break;
    case 5:
      // response-port = "rport" [ EQUAL 1*DIGIT ] (RFC 3581), via-maddr = "maddr" EQUAL host
      if (isRport(b, start)) return hasValue ? scanPort(b, value, end) : name;
      if (isWord(b, start, name, "maddr")) return hasValue ? scanHost(b, value, end) : -1;
      break;
    case 8:
      if (isWord(b, start, name, "received")) {
        // received = IPv4address / IPv6address, as VIA reads it: "[" optional on each side
        if (!hasValue) return -1;
        const i = value < end && b[value] === 0x5b ? value + 1 : value;
        const j = run(b, i, end, C_HEX6);
        if (j === i) return -1;
        return j < end && b[j] === 0x5d ? j + 1 : j;
      }
      break;
    case 3:
      if (isWord(b, start, name, "ttl")) {
        // ttl = 1*3DIGIT, 0..255
        const i = hasValue ? scanDigits(b, value, end) : -1;
        if (i < 0 || i - value > 3) return -1;
        if (i - value === 3 && (b[value] - 0x30) * 100 + (b[value + 1] - 0x30) * 10 + b[value + 2] - 0x30 > 255) {
          return -1;
        }
        return i;
      }
      break;
  }
  // via-extension = generic-param
  return hasValue ? scanGenValue(b, value, end) : name;
}

/**
 * The fast path of {@linkcode VIA} over a Via field value from `start`, which may be a comma
 * list (each element is then what {@linkcode VIA} must accept): where the value it read ends.
 *
 * @param b The octets holding the value.
 * @param start Where the value starts.
 * @param end How far it may read (b[end], if any, is SP, HTAB, CR or LF).
 * @returns The index after the longest value the fast path read whole (the value then is
 * b[start, index)), or -1 if it is unsure.
 * @example
 * ```ts
 * import { scanPlainVia } from "./grammar.ts";
 * import assert from "node:assert/strict";
 * const b = new TextEncoder().encode("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport\r\n");
 * assert.equal(scanPlainVia(b, 0, b.length), b.length - 2);
 * ```
 */
export function scanPlainVia(b: Uint8Array, start: number, end: number): number {
  let i = start;
  for (;;) {
    // sent-protocol = protocol-name SLASH protocol-version SLASH transport (no LWS here);
    // nearly always "SIP/2.0/".
    let j: number;
    if (
      b[i] === 0x53 && b[i + 1] === 0x49 && b[i + 2] === 0x50 && b[i + 3] === 0x2f && b[i + 4] === 0x32 &&
      b[i + 5] === 0x2e && b[i + 6] === 0x30 && b[i + 7] === 0x2f && i + 8 < end
    ) {
      i += 8;
    } else {
      j = run(b, i, end, C_TOKEN);
      if (j === i || b[j] !== 0x2f) return -1;
      i = j + 1;
      j = run(b, i, end, C_TOKEN);
      if (j === i || b[j] !== 0x2f) return -1;
      i = j + 1;
    }
    j = run(b, i, end, C_TOKEN);
    if (j === i) return -1;
    // LWS sent-by
    i = skipSpaces(b, j, end);
    if (i === j) return -1;
    i = scanHost(b, i, end);
    if (i < 0) return -1;
    if (i < end && b[i] === 0x3a) {
      i = scanPort(b, i + 1, end);
      if (i < 0) return -1;
    }
    // *( SEMI via-params )
    while (i < end && b[i] === 0x3b) {
      i = scanViaParam(b, i + 1, end);
      if (i < 0) return -1;
    }
    if (i >= end || b[i] !== 0x2c) return i;
    i = skipSpaces(b, i + 1, end);
  }
}

/**
 * The fast path of {@linkcode VIA} over a whole Via field value, which may be a comma list.
 *
 * @param b The octets holding the value.
 * @param start Where the value starts.
 * @param end Where it ends (b[end], if any, is SP, HTAB, CR or LF).
 * @returns True if every element is a Via value in the common form; false if unsure.
 * @example
 * ```ts
 * import { isPlainVia } from "./grammar.ts";
 * import assert from "node:assert/strict";
 * const b = new TextEncoder().encode("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport");
 * assert.ok(isPlainVia(b, 0, b.length));
 * const lws = new TextEncoder().encode("SIP / 2.0 / UDP host");
 * assert.ok(!isPlainVia(lws, 0, lws.length)); // unsure: ask VIA
 * ```
 */
export function isPlainVia(b: Uint8Array, start: number, end: number): boolean {
  return scanPlainVia(b, start, end) === end;
}

/**
 * The fast path of {@linkcode FROM_TO} (`contact` false) or {@linkcode CONTACT} over a field
 * value from `start`; for Contact it may be a comma list (but not `*`).
 *
 * @param b The octets holding the value.
 * @param start Where the value starts.
 * @param end How far it may read (b[end], if any, is SP, HTAB, CR or LF).
 * @param contact Whether the value is a Contact (q and expires checked, lists allowed).
 * @returns The index after the longest value the fast path read whole, or -1 if it is unsure.
 * @example
 * ```ts
 * import { scanPlainAddress } from "./grammar.ts";
 * import assert from "node:assert/strict";
 * const b = new TextEncoder().encode("<sip:bob@biloxi.example.com>;tag=a6c85cf\r\n");
 * assert.equal(scanPlainAddress(b, 0, b.length, false), b.length - 2);
 * ```
 */
export function scanPlainAddress(b: Uint8Array, start: number, end: number, contact: boolean): number {
  let i = start;
  for (;;) {
    i = scanNameAddr(b, i, end);
    if (i < 0) return -1;
    i = scanAddressParams(b, i, end, contact);
    if (i < 0) return -1;
    if (!contact || i >= end || b[i] !== 0x2c) return i;
    i = skipSpaces(b, i + 1, end);
  }
}

/**
 * The fast path of {@linkcode FROM_TO} (`contact` false) or {@linkcode CONTACT} over a whole
 * field value; for Contact it may be a comma list (but not `*`).
 *
 * @param b The octets holding the value.
 * @param start Where the value starts.
 * @param end Where it ends (b[end], if any, is SP, HTAB, CR or LF).
 * @param contact Whether the value is a Contact (q and expires checked, lists allowed).
 * @returns True if the value is in the language in its common form; false if unsure.
 * @example
 * ```ts
 * import { isPlainAddress } from "./grammar.ts";
 * import assert from "node:assert/strict";
 * const b = new TextEncoder().encode('"Alice" <sip:alice@atlanta.example.com>;tag=1928301774');
 * assert.ok(isPlainAddress(b, 0, b.length, false));
 * const bad = new TextEncoder().encode("<sip:a@b>;tag");
 * assert.ok(!isPlainAddress(bad, 0, bad.length, false)); // the tag needs a value
 * ```
 */
export function isPlainAddress(b: Uint8Array, start: number, end: number, contact: boolean): boolean {
  return scanPlainAddress(b, start, end, contact) === end;
}

/**
 * The fast path of {@linkcode REQUEST_URI} from `start`: a SIP or SIPS URI without headers.
 *
 * @param b The octets holding the Request-URI.
 * @param start Where it starts.
 * @param end How far it may read (b[end], if any, is SP, HTAB, CR or LF).
 * @returns The index after the longest URI the fast path read whole, or -1 if it is unsure.
 * @example
 * ```ts
 * import { scanPlainRequestUri } from "./grammar.ts";
 * import assert from "node:assert/strict";
 * const b = new TextEncoder().encode("sip:echo@198.51.100.7:5060;transport=udp SIP/2.0");
 * assert.equal(scanPlainRequestUri(b, 0, b.length), 40);
 * ```
 */
export function scanPlainRequestUri(b: Uint8Array, start: number, end: number): number {
  return scanSipUri(b, start, end, false, false);
}

/**
 * The fast path of {@linkcode REQUEST_URI}: a SIP or SIPS URI without headers.
 *
 * @param b The octets holding the Request-URI.
 * @param start Where it starts.
 * @param end Where it ends (b[end], if any, is SP, HTAB, CR or LF).
 * @returns True if it is a plain SIP or SIPS URI; false if unsure.
 * @example
 * ```ts
 * import { isPlainRequestUri } from "./grammar.ts";
 * import assert from "node:assert/strict";
 * const b = new TextEncoder().encode("sip:echo@198.51.100.7:5060;transport=udp");
 * assert.ok(isPlainRequestUri(b, 0, b.length));
 * ```
 */
export function isPlainRequestUri(b: Uint8Array, start: number, end: number): boolean {
  return scanSipUri(b, start, end, false, false) === end;
}

/**
 * {@linkcode CALL_ID} over octets from `start`: `word [ "@" word ]`.
 *
 * @param b The octets holding the value.
 * @param start Where the value starts.
 * @param end How far it may read.
 * @returns The index after the longest Call-ID read from `start` (b[start, index) matches
 * {@linkcode CALL_ID} exactly when nothing but the end follows), or -1 if none.
 * @example
 * ```ts
 * import { scanCallId } from "./grammar.ts";
 * import assert from "node:assert/strict";
 * const b = new TextEncoder().encode("a84b4c76e66710@pc33.atlanta.example.com\r\n");
 * assert.equal(scanCallId(b, 0, b.length), b.length - 2);
 * ```
 */
export function scanCallId(b: Uint8Array, start: number, end: number): number {
  const at = run(b, start, end, C_WORD);
  if (at === start) return -1;
  if (at >= end || b[at] !== 0x40) return at;
  const word = run(b, at + 1, end, C_WORD);
  return word > at + 1 ? word : -1;
}

/**
 * Exactly {@linkcode CALL_ID}, over octets: `word [ "@" word ]`.
 *
 * @param b The octets holding the value.
 * @param start Where the value starts.
 * @param end Where it ends.
 * @returns Whether it matches.
 * @example
 * ```ts
 * import { isCallId } from "./grammar.ts";
 * import assert from "node:assert/strict";
 * const b = new TextEncoder().encode("a84b4c76e66710@pc33.atlanta.example.com");
 * assert.ok(isCallId(b, 0, b.length));
 * ```
 */
export function isCallId(b: Uint8Array, start: number, end: number): boolean {
  return scanCallId(b, start, end) === end;
}
