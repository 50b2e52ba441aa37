/**
 * Reads the values of `WWW-Authenticate` and `Proxy-Authenticate` (a challenge) and of
 * `Authorization` and `Proxy-Authorization` (credentials) for the Digest scheme (RFC 3261
 * §25.1 challenge, credentials; RFC 7616 §3.3, §3.4). One header value holds one challenge or
 * one set of credentials: SIP does not split these headers at commas (RFC 3261 §7.3.1).
 *
 * Reading is lenient where peers differ and the meaning is plain: parameter names in any case,
 * any parameter quoted or not (RFC 7235 §2.1 asks recipients to accept both), `algorithm`
 * names in any case. It is strict where a mistake would change the computation: a parameter
 * given twice, `nc` not 8 hex digits, a `qop` without `cnonce` and `nc`.
 *
 * @module
 */

import { HeaderError } from "../sip/header_values.ts";
import { isToken, TOKEN_CHAR } from "../sip/chars.ts";
import { type DigestAlgorithm, digestAlgorithm } from "./algorithm.ts";

/**
 * A Digest challenge (RFC 7616 §3.3; RFC 3261 §25.1 digest-cln).
 *
 * @example
 * ```ts
 * import { type DigestChallenge, parseChallenge } from "./parse_digest.ts";
 * import assert from "node:assert/strict";
 *
 * const challenge: DigestChallenge = parseChallenge('Digest realm="atlanta.example.com", nonce="84a4cc6f", qop="auth"');
 * assert.deepEqual(challenge.qop, ["auth"]);
 * ```
 */
export interface DigestChallenge {
  /** The protection space, shown to users and part of A1 (RFC 7616 §3.3). */
  realm: string;
  /** The server's nonce, opaque to the client. */
  nonce: string;
  /** The `domain` parameter: space-separated URIs, kept as written. */
  domain?: string;
  /** Opaque data the client returns unchanged. */
  opaque?: string;
  /** True when the previous request was refused only because its nonce had expired. */
  stale?: boolean;
  /**
   * The algorithm: a {@linkcode DigestAlgorithm} in its registered spelling when known, else
   * as written. Absent means MD5 (RFC 7616 §3.3).
   */
  algorithm?: DigestAlgorithm | string;
  /** The qop-options, in the server's order (RFC 7616 §3.3); absent in RFC 2069 challenges. */
  qop?: string[];
  /** The `charset` parameter (RFC 7616 §3.3: only `UTF-8`). */
  charset?: string;
  /** The `userhash` parameter (RFC 7616 §3.3). */
  userhash?: boolean;
  /** Every other parameter, name lower-cased, value unquoted. */
  params: Record<string, string>;
}

/**
 * Digest credentials (RFC 7616 §3.4; RFC 3261 §25.1 digest-response).
 *
 * @example
 * ```ts
 * import { type DigestCredentials, parseCredentials } from "./parse_digest.ts";
 * import assert from "node:assert/strict";
 *
 * const credentials: DigestCredentials = parseCredentials(
 *   'Digest username="bob", realm="biloxi.com", nonce="dcd98b", uri="sip:bob@biloxi.com", ' +
 *     'response="245f23415f11432b3434341c022"',
 * );
 * assert.equal(credentials.username, "bob");
 * assert.equal(credentials.qop, undefined);
 * ```
 */
export interface DigestCredentials {
  /** The user's name in the realm (RFC 7616 §3.4; `username*` is kept in `params`). */
  username: string;
  /** The realm of the challenge answered. */
  realm: string;
  /** The nonce of the challenge answered. */
  nonce: string;
  /** The digest-uri: the Request-URI of the request (RFC 3261 §22.4). */
  uri: string;
  /** The request-digest, hex. */
  response: string;
  /** As in {@linkcode DigestChallenge.algorithm}; absent means MD5. */
  algorithm?: DigestAlgorithm | string;
  /** The client nonce; present exactly when `qop` is. */
  cnonce?: string;
  /** The challenge's opaque, returned. */
  opaque?: string;
  /** The quality of protection chosen: `auth` or `auth-int` (or an extension). */
  qop?: string;
  /** The nonce count, 8 hex digits as written (they enter the response as they are). */
  nc?: string;
  /** The `userhash` parameter (RFC 7616 §3.4.4). */
  userhash?: boolean;
  /** Every other parameter, name lower-cased, value unquoted. */
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` or `Proxy-Authenticate` value holding a Digest challenge.
 *
 * @param value The header value, `Digest realm="...", nonce="...", ...`.
 * @param header The header's name, for error messages.
 * @returns The challenge.
 * @throws {HeaderError} If the value is not a Digest challenge, is malformed, lacks realm or
 * nonce, or gives a parameter twice.
 * @example
 * ```ts
 * import { parseChallenge } from "./parse_digest.ts";
 * import assert from "node:assert/strict";
 *
 * const c = parseChallenge(
 *   'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=sha-256, ' +
 *     'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", stale=TRUE, x-extra=1',
 * );
 * assert.equal(c.algorithm, "SHA-256");
 * assert.deepEqual(c.qop, ["auth", "auth-int"]);
 * assert.equal(c.stale, true);
 * assert.deepEqual(c.params, { "x-extra": "1" });
 * assert.throws(() => parseChallenge('Basic realm="x"'), /Cannot parse WWW-Authenticate: scheme "Basic" is not Digest/);
 * ```
 */
export function parseChallenge(value: string, header = "WWW-Authenticate"): DigestChallenge {
  const params = _readDigestParams(value, header);
  const realm = _take(params, "realm");
  const nonce = _take(params, "nonce");
  if (realm === undefined) throw new HeaderError(header, "realm parameter is missing");
  if (nonce === undefined) throw new HeaderError(header, "nonce parameter is missing");
  const challenge: DigestChallenge = { realm, nonce, params: {} };
  const domain = _take(params, "domain");
  if (domain !== undefined) challenge.domain = domain;
  const opaque = _take(params, "opaque");
  if (opaque !== undefined) challenge.opaque = opaque;
  const stale = _take(params, "stale");
  if (stale !== undefined) challenge.stale = _boolean(stale, "stale", header);
  const algorithm = _take(params, "algorithm");
  if (algorithm !== undefined) challenge.algorithm = digestAlgorithm(algorithm) ?? algorithm;
  const qop = _take(params, "qop");
  if (qop !== undefined) {
    // RFC 7616 §3.3: qop-options is a quoted list of tokens, commas with optional whitespace.
    const options = qop.split(",").map((o) => o.trim());
    if (options.some((o) => !isToken(o))) throw new HeaderError(header, `qop "${qop}" is not a list of tokens`);
    challenge.qop = options;
  }
  const charset = _take(params, "charset");
  if (charset !== undefined) challenge.charset = charset;
  const userhash = _take(params, "userhash");
  if (userhash !== undefined) challenge.userhash = _boolean(userhash, "userhash", header);
  for (const [name, v] of params) challenge.params[name] = v;
  return challenge;
}

/**
 * Parses an `Authorization` or `Proxy-Authorization` value holding Digest credentials.
 *
 * @param value The header value, `Digest username="...", realm="...", ...`.
 * @param header The header's name, for error messages.
 * @returns The credentials.
 * @throws {HeaderError} If the value is not Digest credentials, is malformed, lacks username,
 * realm, nonce, uri or response, gives a parameter twice, has an `nc` that is not 8 hex
 * digits, or a `qop` without `cnonce` and `nc`.
 * @example
 * ```ts
 * import { parseCredentials } from "./parse_digest.ts";
 * import assert from "node:assert/strict";
 *
 * const c = parseCredentials(
 *   'Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", ' +
 *     'algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, ' +
 *     'cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, ' +
 *     'response="8ca523f5e9506fed4657c9700eebdbec"',
 * );
 * assert.equal(c.nc, "00000001");
 * assert.equal(c.qop, "auth");
 * assert.throws(
 *   () => parseCredentials('Digest username="a", realm="r", nonce="n", uri="u", response="00", qop=auth'),
 *   /Cannot parse Authorization: qop is given without cnonce/,
 * );
 * ```
 */
export function parseCredentials(value: string, header = "Authorization"): DigestCredentials {
  const params = _readDigestParams(value, header);
  const required = (name: string): string => {
    const v = _take(params, name);
    if (v === undefined) throw new HeaderError(header, `${name} parameter is missing`);
    return v;
  };
  const username = required("username");
  const realm = required("realm");
  const nonce = required("nonce");
  const uri = required("uri");
  const response = required("response");
  if (!/^[0-9A-Fa-f]+$/.test(response)) throw new HeaderError(header, `response "${response}" is not hex`);
  const credentials: DigestCredentials = { username, realm, nonce, uri, response, params: {} };
  const algorithm = _take(params, "algorithm");
  if (algorithm !== undefined) credentials.algorithm = digestAlgorithm(algorithm) ?? algorithm;
  const cnonce = _take(params, "cnonce");
  if (cnonce !== undefined) credentials.cnonce = cnonce;
  const opaque = _take(params, "opaque");
  if (opaque !== undefined) credentials.opaque = opaque;
  const qop = _take(params, "qop");
  const nc = _take(params, "nc");
  if (qop !== undefined) {
    if (!isToken(qop)) throw new HeaderError(header, `qop "${qop}" is not a token`);
    credentials.qop = qop;
  }
  if (nc !== undefined) {
    // RFC 7616 §3.4: nc-value = 8LHEX.
    if (!/^[0-9A-Fa-f]{8}$/.test(nc)) throw new HeaderError(header, `nc "${nc}" is not 8 hex digits`);
    credentials.nc = nc;
  }
  // RFC 7616 §3.4: cnonce and nc MUST be sent with qop, and MUST NOT without it.
  if (qop !== undefined && cnonce === undefined) throw new HeaderError(header, "qop is given without cnonce");
  if (qop !== undefined && nc === undefined) throw new HeaderError(header, "qop is given without nc");
  if (qop === undefined && (cnonce !== undefined || nc !== undefined)) {
    throw new HeaderError(header, `${cnonce !== undefined ? "cnonce" : "nc"} is given without qop`);
  }
  const userhash = _take(params, "userhash");
  if (userhash !== undefined) credentials.userhash = _boolean(userhash, "userhash", header);
  for (const [name, v] of params) credentials.params[name] = v;
  return credentials;
}

/** Removes and returns one parameter. */
function _take(params: Map<string, string>, name: string): string | undefined {
  const v = params.get(name);
  params.delete(name);
  return v;
}

/** RFC 7616 §3.3: stale and userhash are "true" or "false", without regard to case. */
function _boolean(value: string, name: string, header: string): boolean {
  const lower = value.toLowerCase();
  if (lower === "true") return true;
  if (lower === "false") return false;
  throw new HeaderError(header, `${name} "${value}" is neither true nor false`);
}

function _isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/**
 * Reads `"Digest" LWS auth-param *(COMMA auth-param)` (RFC 3261 §25.1): the parameters by
 * lower-cased name, values unquoted. Shared by both parsers.
 */
function _readDigestParams(value: string, header: string): Map<string, string> {
  const params = new Map<string, string>();
  let i = 0;
  while (i < value.length && _isWs(value.charCodeAt(i))) i++;
  const schemeStart = i;
  while (i < value.length && value.charCodeAt(i) < 128 && TOKEN_CHAR[value.charCodeAt(i)] === 1) i++;
  const scheme = value.slice(schemeStart, i);
  if (scheme === "") throw new HeaderError(header, "auth scheme is missing");
  // RFC 3261 §25.1: "Digest" is a case-insensitive token.
  if (scheme.toLowerCase() !== "digest") throw new HeaderError(header, `scheme "${scheme}" is not Digest`);
  const afterScheme = i;
  while (i < value.length && _isWs(value.charCodeAt(i))) i++;
  if (i >= value.length) throw new HeaderError(header, "Digest has no parameters");
  if (i === afterScheme) throw new HeaderError(header, "the scheme must be followed by whitespace");
  for (;;) {
    const nameStart = i;
    while (i < value.length && value.charCodeAt(i) < 128 && TOKEN_CHAR[value.charCodeAt(i)] === 1) i++;
    if (i === nameStart) {
      throw new HeaderError(header, `a parameter name is missing at "${value.slice(i, i + 12)}" (offset ${i})`);
    }
    const name = value.slice(nameStart, i).toLowerCase();
    while (i < value.length && _isWs(value.charCodeAt(i))) i++;
    if (value.charCodeAt(i) !== 0x3d) throw new HeaderError(header, `parameter "${name}" has no "=" and value`);
    i++;
    while (i < value.length && _isWs(value.charCodeAt(i))) i++;
    let v: string;
    if (value.charCodeAt(i) === 0x22) {
      [v, i] = _readQuoted(value, i, name, header);
    } else {
      const start = i;
      while (i < value.length && value.charCodeAt(i) < 128 && TOKEN_CHAR[value.charCodeAt(i)] === 1) i++;
      if (i === start) {
        const found = i < value.length ? `"${value[i]}"` : "nothing";
        throw new HeaderError(header, `parameter "${name}" has ${found} where a token or quoted string was expected`);
      }
      v = value.slice(start, i);
    }
    // RFC 7235 §2.1: each parameter name MUST only occur once per challenge.
    if (params.has(name)) throw new HeaderError(header, `parameter "${name}" is given twice`);
    params.set(name, v);
    while (i < value.length && _isWs(value.charCodeAt(i))) i++;
    if (i >= value.length) return params;
    if (value.charCodeAt(i) !== 0x2c) {
      throw new HeaderError(header, `expected "," after parameter "${name}", found "${value.slice(i, i + 12)}"`);
    }
    i++;
    while (i < value.length && _isWs(value.charCodeAt(i))) i++;
    if (i >= value.length) throw new HeaderError(header, `a parameter is missing after the last ","`);
  }
}

/**
 * Reads a quoted-string (RFC 3261 §25.1) at its opening quote: `\` escapes the next character,
 * which may be neither CR nor LF (quoted-pair); returns the text and the index after it.
 */
function _readQuoted(s: string, i: number, name: string, header: string): [string, number] {
  let out = "";
  let j = i + 1;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 0x22) return [out, j + 1];
    if (c === 0x5c) {
      const next = s.charCodeAt(j + 1);
      if (next === 0x0d || next === 0x0a || Number.isNaN(next)) break;
      out += s[j + 1];
      j += 2;
    } else {
      out += s[j];
      j++;
    }
  }
  throw new HeaderError(header, `the quoted value of parameter "${name}" is not closed`);
}
