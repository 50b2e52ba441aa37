/**
 * The parts of the RFC 3261 §25.1 ABNF that the parser checks eagerly, written as regular
 * expressions. A compiled regular expression checks a header value in one pass without
 * allocating, which is what lets {@linkcode parseMessage} validate every mandatory header and
 * still build the structured views lazily.
 *
 * Each expression accepts exactly what the matching view function in header_values.ts or
 * uri.ts accepts (tests/grammar_test.ts holds them to that); those functions give the detailed
 * error message when an expression says no.
 *
 * @module
 */

// token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
const TOKEN = "[A-Za-z0-9\\-.!%*_+`'~]+";
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
const not = (names: string) => `(?!(?:${names})(?![A-Za-z0-9\\-.!%*_+\`'~]))`;
// gen-value = token / host / quoted-string
const GEN_VALUE = `(?:[A-Za-z0-9\\-.!%*_+\`'~\\[\\]:]+|${QUOTED})`;
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
