/**
 * SIP digest authentication, the pure core (RFC 3261 §22, RFC 7616, RFC 8760): hashes (MD5,
 * SHA-256, SHA-512/256) and HMAC, the Digest header values read and written, the response
 * computation, {@linkcode DigestChallenger} for the side that challenges and
 * {@linkcode DigestClient} for the side that answers. Synchronous, without runtime APIs: clock,
 * secret and randomness are given to it. The peer challenges with it (`PeerOptions.auth`,
 * rules with `auth`) and the mock's UAC answers with it (`credentials`); this entry,
 * `@sipecho/sipecho/auth`, is for tests that compute an H(A1) or a response themselves.
 *
 * @example
 * ```ts
 * import { DigestChallenger, DigestClient } from "@sipecho/sipecho/auth";
 * import assert from "node:assert/strict";
 *
 * const server = new DigestChallenger({
 *   realm: "atlanta.example.com",
 *   users: { alice: { password: "secret" } },
 *   secret: new Uint8Array(32).fill(3),
 *   now: () => 1_700_000_000_000,
 * });
 * const client = new DigestClient({ username: "alice", password: "secret", random: (n) => new Uint8Array(n) });
 * const invite = { method: "INVITE", uri: "sip:bob@atlanta.example.com" };
 * const refused = server.verify({ ...invite, credentials: undefined });
 * assert.ok(!refused.ok);
 * const { value } = client.authorize({ ...invite, challenges: refused.challenges });
 * assert.equal(server.verify({ ...invite, credentials: value }).ok, true);
 * ```
 *
 * @module
 */

export { md5 } from "../hash/md5.ts";
export { sha256 } from "../hash/sha256.ts";
export { sha512_256 } from "../hash/sha512_256.ts";
export { type HashFunction, MD5, SHA_256, SHA_512_256, toHex } from "../hash/hash_function.ts";
export { hmac } from "../hash/hmac.ts";
export {
  algorithmHash,
  DIGEST_ALGORITHMS,
  type DigestAlgorithm,
  digestAlgorithm,
  isSessionAlgorithm,
} from "./algorithm.ts";
export { type DigestChallenge, type DigestCredentials, parseChallenge, parseCredentials } from "./parse_digest.ts";
export { formatChallenge, formatCredentials } from "./format_digest.ts";
export { digestHA1, digestHash, digestResponse, type DigestResponseInput, sessionHA1 } from "./digest_response.ts";
export { issueNonce, type NonceKey, openNonce } from "./nonce.ts";
export { DEFAULT_MAX_NONCES, type NonceCountCheck, NonceCountWindow } from "./nc_window.ts";
export {
  type DigestAccepted,
  DigestChallenger,
  type DigestChallengerOptions,
  type DigestRefusalReason,
  type DigestRefused,
  type DigestRequest,
  type DigestUser,
  type DigestVerdict,
} from "./digest_challenger.ts";
export {
  type DigestAuthorization,
  DigestClient,
  type DigestClientOptions,
  type DigestClientRequest,
} from "./digest_client.ts";
