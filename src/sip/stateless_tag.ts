/**
 * The To tag a stateless UAS derives from the request (RFC 3261 §8.2.7): the same request gets
 * the same tag, with no state kept.
 *
 * @module
 */

/**
 * FNV-1a (32 bits) of a Call-ID and a From tag, its offset basis xored with a salt: what a
 * stateless UAS derives its To tag from (RFC 3261 §8.2.7: the same tag for the same request
 * every time, with no state kept). A peer may also take it as the SDP session id of the call.
 *
 * @param callId The Call-ID.
 * @param fromTag The From tag ("" if none).
 * @param salt A number (0..2^32-1) that makes the values differ from peer to peer (default 0).
 * @returns The hash, an unsigned 32-bit integer.
 * @example
 * ```ts
 * import { statelessHash } from "./stateless_tag.ts";
 * import assert from "node:assert/strict";
 * const hash = statelessHash("a84b4c76e66710@pc33.atlanta.example.com", "1928301774");
 * assert.ok(Number.isInteger(hash) && hash >= 0 && hash < 2 ** 32);
 * assert.equal(statelessHash("a84b4c76e66710@pc33.atlanta.example.com", "1928301774"), hash);
 * assert.notEqual(statelessHash("a84b4c76e66710@pc33.atlanta.example.com", "1928301774", 7), hash);
 * ```
 */
export function statelessHash(callId: string, fromTag: string, salt = 0): number {
  const text = callId + "\n" + fromTag;
  let hash = (0x811c9dc5 ^ salt) >>> 0;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/**
 * The To tag of a stateless UAS (RFC 3261 §8.2.7): {@linkcode statelessHash} as 8 lower-case
 * hex digits.
 *
 * @param callId The Call-ID.
 * @param fromTag The From tag ("" if none).
 * @param salt A number (0..2^32-1) that makes the tags differ from peer to peer (default 0).
 * @returns The tag.
 * @example
 * ```ts
 * import { statelessHash, statelessTag } from "./stateless_tag.ts";
 * import assert from "node:assert/strict";
 * assert.match(statelessTag("c1@example.com", "a1"), /^[0-9a-f]{8}$/);
 * assert.equal(statelessTag("c1@example.com", "a1", 5), statelessHash("c1@example.com", "a1", 5).toString(16).padStart(8, "0"));
 * ```
 */
export function statelessTag(callId: string, fromTag: string, salt = 0): string {
  return statelessHash(callId, fromTag, salt).toString(16).padStart(8, "0");
}
