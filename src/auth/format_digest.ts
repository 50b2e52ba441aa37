/**
 * Writes Digest challenges and credentials as header values (RFC 7616 §3.3, §3.4; RFC 3261
 * §25.1). Quoting follows the grammar, not the value: realm, domain, nonce, opaque, qop-options
 * (a quoted list), username, uri, response and cnonce are always quoted; algorithm, stale,
 * charset, userhash, and in credentials qop and nc, are tokens. A parameter this module does
 * not know is written as a token when it is one, else quoted (RFC 7235 §2.1 lets the
 * recipient take either).
 *
 * @module
 */

import { isToken } from "../sip/chars.ts";
import type { DigestChallenge, DigestCredentials } from "./parse_digest.ts";

/**
 * Writes a challenge: `Digest realm="...", nonce="...", ...`.
 *
 * @param challenge The challenge.
 * @param header The header's name, for error messages.
 * @returns The header value.
 * @throws {RangeError} If a value holds CR or LF (no quoted-string can carry them), a
 * token-valued parameter is not a token, or an extension parameter repeats a known one.
 * @example
 * ```ts
 * import { formatChallenge } from "./format_digest.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   formatChallenge({ realm: "atlanta.example.com", nonce: "84a4cc6f", algorithm: "SHA-256", qop: ["auth", "auth-int"], stale: true, params: {} }),
 *   'Digest realm="atlanta.example.com", nonce="84a4cc6f", stale=true, algorithm=SHA-256, qop="auth,auth-int"',
 * );
 * ```
 */
export function formatChallenge(challenge: DigestChallenge, header = "WWW-Authenticate"): string {
  const parts = [`realm=${_quote(challenge.realm, "realm", header)}`];
  if (challenge.domain !== undefined) parts.push(`domain=${_quote(challenge.domain, "domain", header)}`);
  parts.push(`nonce=${_quote(challenge.nonce, "nonce", header)}`);
  if (challenge.opaque !== undefined) parts.push(`opaque=${_quote(challenge.opaque, "opaque", header)}`);
  if (challenge.stale !== undefined) parts.push(`stale=${challenge.stale}`);
  if (challenge.algorithm !== undefined) parts.push(`algorithm=${_token(challenge.algorithm, "algorithm", header)}`);
  if (challenge.qop !== undefined) {
    // RFC 7616 §3.3: qop-options = "qop" EQUAL LDQUOT qop-value *("," qop-value) RDQUOT.
    for (const option of challenge.qop) _token(option, "qop", header);
    parts.push(`qop="${challenge.qop.join(",")}"`);
  }
  if (challenge.charset !== undefined) parts.push(`charset=${_token(challenge.charset, "charset", header)}`);
  if (challenge.userhash !== undefined) parts.push(`userhash=${challenge.userhash}`);
  _extensions(parts, challenge.params, CHALLENGE_PARAMS, header);
  return `Digest ${parts.join(", ")}`;
}

/**
 * Writes credentials: `Digest username="...", realm="...", ...`.
 *
 * @param credentials The credentials.
 * @param header The header's name, for error messages.
 * @returns The header value.
 * @throws {RangeError} As {@linkcode formatChallenge}, and if `nc` is not 8 hex digits.
 * @example
 * ```ts
 * import { formatCredentials } from "./format_digest.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   formatCredentials({
 *     username: "bob", realm: "biloxi.com", nonce: "dcd98b", uri: "sip:bob@biloxi.com",
 *     response: "6629fae49393a05397450978507c4ef1", algorithm: "MD5", cnonce: "0a4f113b", qop: "auth", nc: "00000001",
 *     params: {},
 *   }),
 *   'Digest username="bob", realm="biloxi.com", nonce="dcd98b", uri="sip:bob@biloxi.com", ' +
 *     'response="6629fae49393a05397450978507c4ef1", algorithm=MD5, cnonce="0a4f113b", qop=auth, nc=00000001',
 * );
 * ```
 */
export function formatCredentials(credentials: DigestCredentials, header = "Authorization"): string {
  const c = credentials;
  const parts = [
    `username=${_quote(c.username, "username", header)}`,
    `realm=${_quote(c.realm, "realm", header)}`,
    `nonce=${_quote(c.nonce, "nonce", header)}`,
    `uri=${_quote(c.uri, "uri", header)}`,
    `response=${_quote(c.response, "response", header)}`,
  ];
  if (c.algorithm !== undefined) parts.push(`algorithm=${_token(c.algorithm, "algorithm", header)}`);
  if (c.cnonce !== undefined) parts.push(`cnonce=${_quote(c.cnonce, "cnonce", header)}`);
  if (c.opaque !== undefined) parts.push(`opaque=${_quote(c.opaque, "opaque", header)}`);
  if (c.qop !== undefined) parts.push(`qop=${_token(c.qop, "qop", header)}`);
  if (c.nc !== undefined) {
    if (!/^[0-9A-Fa-f]{8}$/.test(c.nc)) {
      throw new RangeError(`Cannot format ${header}: nc "${c.nc}" is not 8 hex digits`);
    }
    parts.push(`nc=${c.nc}`);
  }
  if (c.userhash !== undefined) parts.push(`userhash=${c.userhash}`);
  _extensions(parts, c.params, CREDENTIAL_PARAMS, header);
  return `Digest ${parts.join(", ")}`;
}

const CHALLENGE_PARAMS = new Set([
  "realm",
  "domain",
  "nonce",
  "opaque",
  "stale",
  "algorithm",
  "qop",
  "charset",
  "userhash",
]);
const CREDENTIAL_PARAMS = new Set([
  "username",
  "realm",
  "nonce",
  "uri",
  "response",
  "algorithm",
  "cnonce",
  "opaque",
  "qop",
  "nc",
  "userhash",
]);

/** Appends the extension parameters, each once, none shadowing a known one. */
function _extensions(parts: string[], params: Record<string, string>, known: Set<string>, header: string): void {
  for (const [name, value] of Object.entries(params)) {
    const lower = name.toLowerCase();
    if (!isToken(name)) throw new RangeError(`Cannot format ${header}: parameter name "${name}" is not a token`);
    if (known.has(lower)) {
      throw new RangeError(`Cannot format ${header}: "${name}" in params repeats a known parameter`);
    }
    parts.push(`${lower}=${isToken(value) ? value : _quote(value, name, header)}`);
  }
}

/** RFC 3261 §25.1 quoted-string: `"` and `\` escaped; CR and LF cannot be carried. */
function _quote(value: string, name: string, header: string): string {
  if (/[\r\n]/.test(value)) throw new RangeError(`Cannot format ${header}: ${name} holds a line break`);
  return `"${value.replace(/["\\]/g, "\\$&")}"`;
}

function _token(value: string, name: string, header: string): string {
  if (!isToken(value)) throw new RangeError(`Cannot format ${header}: ${name} "${value}" is not a token`);
  return value;
}
