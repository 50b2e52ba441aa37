/**
 * The client side of digest authentication, pure: {@linkcode DigestClient} answers the
 * challenges of a 401 or 407 with the value of an Authorization or Proxy-Authorization header
 * (RFC 3261 §22.2, §22.3; RFC 7616 §3.4), its cnonces from a random source it is given.
 *
 * @module
 */

import { DIGEST_ALGORITHMS, type DigestAlgorithm, digestAlgorithm, isSessionAlgorithm } from "./algorithm.ts";
import { digestHA1, digestResponse } from "./digest_response.ts";
import { formatCredentials } from "./format_digest.ts";
import { toHex } from "../hash/hash_function.ts";
import { type DigestChallenge, type DigestCredentials, parseChallenge } from "./parse_digest.ts";

/**
 * Options of {@linkcode DigestClient}.
 *
 * @example
 * ```ts
 * import type { DigestClientOptions } from "./digest_client.ts";
 * const options: DigestClientOptions = {
 *   username: "alice",
 *   password: "secret",
 *   random: (size) => crypto.getRandomValues(new Uint8Array(size)),
 * };
 * ```
 */
export interface DigestClientOptions {
  /** The user name. */
  username: string;
  /** The password. */
  password: string;
  /** Answer only challenges of this realm; any realm when absent. */
  realm?: string;
  /** Random bytes, for cnonces. */
  random: (size: number) => Uint8Array;
  /** The algorithms this client will use; all six when absent. The server's order decides. */
  algorithms?: readonly DigestAlgorithm[];
  /** The qop values this client will use, preferred first. Default `["auth", "auth-int"]`. */
  qop?: readonly ("auth" | "auth-int")[];
}

/**
 * The request being authorized and the challenges it answers.
 *
 * @example
 * ```ts
 * import type { DigestClientRequest } from "./digest_client.ts";
 * const request: DigestClientRequest = {
 *   method: "INVITE",
 *   uri: "sip:bob@biloxi.example.com",
 *   challenges: ['Digest realm="biloxi.example.com", nonce="n", qop="auth"'],
 *   header: "Proxy-Authenticate",
 * };
 * ```
 */
export interface DigestClientRequest {
  /** The method of the request to send. */
  method: string;
  /** Its Request-URI. */
  uri: string;
  /** Its body, for qop=auth-int. */
  body?: string | Uint8Array;
  /** The values of the challenge header of the 401 or 407, in the order received. */
  challenges: string | readonly string[];
  /** Where they came from: WWW-Authenticate (default) or Proxy-Authenticate. */
  header?: "WWW-Authenticate" | "Proxy-Authenticate";
}

/**
 * An answer to a challenge.
 *
 * @example
 * ```ts
 * import type { DigestAuthorization } from "./digest_client.ts";
 * const answer: DigestAuthorization = {
 *   header: "Authorization", value: 'Digest username="alice", ...', algorithm: "MD5", realm: "r", nonce: "n",
 * };
 * ```
 */
export interface DigestAuthorization {
  /** The header to add: Authorization, or Proxy-Authorization for a Proxy-Authenticate. */
  header: "Authorization" | "Proxy-Authorization";
  /** Its value. */
  value: string;
  /** The algorithm chosen. */
  algorithm: DigestAlgorithm;
  /** The realm answered. */
  realm: string;
  /** The nonce answered. */
  nonce: string;
  /** The qop chosen, if the challenge offered one this client takes. */
  qop?: "auth" | "auth-int";
  /** The nonce count sent with qop. */
  nc?: string;
}

/** How many nonces' counts a client keeps; a nonce dropped starts again at 1, which a server
 * that still remembers it refuses, and the next challenge brings a fresh nonce. */
const MAX_CLIENT_NONCES = 64;

/**
 * Answers digest challenges for one user. It counts the requests made with each nonce (nc,
 * RFC 7616 §3.4), so that a nonce may be reused for later requests.
 *
 * Of several challenges (RFC 8760 §2.4), it answers the first, in the order received, whose
 * realm, algorithm and qop it takes. A challenge without qop gets an RFC 2069 answer (RFC 3261
 * §22.4). `userhash` is not supported: the username is always sent as it is.
 *
 * @example
 * ```ts
 * import { DigestClient } from "./digest_client.ts";
 * import assert from "node:assert/strict";
 *
 * const client = new DigestClient({
 *   username: "alice",
 *   password: "secret",
 *   algorithms: ["SHA-256", "MD5"],
 *   random: (size) => new Uint8Array(size).fill(1),
 * });
 * const answer = client.authorize({
 *   method: "INVITE",
 *   uri: "sip:bob@biloxi.example.com",
 *   challenges: [
 *     'Digest realm="biloxi.example.com", nonce="n1", algorithm=SHA-512-256, qop="auth"',
 *     'Digest realm="biloxi.example.com", nonce="n1", algorithm=MD5, qop="auth"',
 *   ],
 *   header: "Proxy-Authenticate",
 * });
 * assert.equal(answer.header, "Proxy-Authorization");
 * assert.equal(answer.algorithm, "MD5"); // SHA-512-256 is not among the client's algorithms
 * assert.equal(answer.nc, "00000001");
 * assert.match(answer.value, /^Digest username="alice", realm="biloxi\.example\.com", nonce="n1", uri="sip:bob@biloxi\.example\.com", response="[0-9a-f]{32}", algorithm=MD5, cnonce="01010101010101010101010101010101", qop=auth, nc=00000001$/);
 * ```
 */
export class DigestClient {
  readonly #options: DigestClientOptions;
  readonly #algorithms: readonly DigestAlgorithm[];
  readonly #qop: readonly ("auth" | "auth-int")[];
  // nonce -> requests made with it; Map order drops the least recently used first.
  readonly #counts = new Map<string, number>();

  /**
   * Makes a client.
   *
   * @param options User, password, random source and choices.
   */
  constructor(options: DigestClientOptions) {
    this.#options = options;
    this.#algorithms = options.algorithms ?? DIGEST_ALGORITHMS;
    this.#qop = options.qop ?? ["auth", "auth-int"];
  }

  /**
   * Answers the challenges of a 401 or 407 for a request.
   *
   * @param request The request and the challenges.
   * @returns The header to add and its value.
   * @throws {SyntaxError} ({@linkcode HeaderError}) If no challenge parses.
   * @throws {RangeError} If none has a realm, algorithm and qop this client takes; the message
   * lists what was offered.
   */
  authorize(request: DigestClientRequest): DigestAuthorization {
    const header = request.header ?? "WWW-Authenticate";
    const values = typeof request.challenges === "string" ? [request.challenges] : request.challenges;
    let parseError: unknown;
    const offered: string[] = [];
    for (const value of values) {
      let challenge: DigestChallenge;
      try {
        challenge = parseChallenge(value, header);
      } catch (e) {
        parseError ??= e;
        continue;
      }
      const choice = this.#choose(challenge);
      if (choice === undefined) {
        offered.push(
          `${challenge.algorithm ?? "MD5"} qop=${challenge.qop?.join("/") ?? "none"} realm "${challenge.realm}"`,
        );
        continue;
      }
      return this.#answer(request, header, challenge, choice.algorithm, choice.qop);
    }
    if (offered.length === 0 && parseError !== undefined) throw parseError;
    throw new RangeError(
      `Cannot answer ${header}: no challenge this client takes (offered: ${offered.join("; ") || "none"})`,
    );
  }

  /** The algorithm and qop to answer a challenge with, or undefined if it is not for us. */
  #choose(challenge: DigestChallenge): { algorithm: DigestAlgorithm; qop?: "auth" | "auth-int" } | undefined {
    if (this.#options.realm !== undefined && challenge.realm !== this.#options.realm) return undefined;
    const algorithm = digestAlgorithm(challenge.algorithm ?? "MD5");
    if (algorithm === undefined || !this.#algorithms.includes(algorithm)) return undefined;
    if (challenge.qop === undefined) {
      // RFC 2069: no qop, so no cnonce, which a -sess algorithm needs.
      return isSessionAlgorithm(algorithm) ? undefined : { algorithm };
    }
    const qop = this.#qop.find((q) => challenge.qop!.includes(q));
    return qop === undefined ? undefined : { algorithm, qop };
  }

  #answer(
    request: DigestClientRequest,
    header: string,
    challenge: DigestChallenge,
    algorithm: DigestAlgorithm,
    qop: "auth" | "auth-int" | undefined,
  ): DigestAuthorization {
    const { username, password } = this.#options;
    const credentials: DigestCredentials = {
      username,
      realm: challenge.realm,
      nonce: challenge.nonce,
      uri: request.uri,
      response: "",
      params: {},
    };
    // RFC 7616 §3.4: algorithm as the challenge gave it; absent stays absent (RFC 2617 peers).
    if (challenge.algorithm !== undefined) credentials.algorithm = algorithm;
    if (qop !== undefined) {
      credentials.cnonce = toHex(this.#options.random(16));
      credentials.qop = qop;
      credentials.nc = this.#count(challenge.nonce).toString(16).padStart(8, "0");
    }
    if (challenge.opaque !== undefined) credentials.opaque = challenge.opaque;
    credentials.response = digestResponse({
      algorithm,
      ha1: digestHA1(algorithm, username, challenge.realm, password),
      method: request.method,
      uri: request.uri,
      nonce: challenge.nonce,
      qop,
      nc: credentials.nc,
      cnonce: credentials.cnonce,
      body: request.body,
    });
    const credentialsHeader = header === "Proxy-Authenticate" ? "Proxy-Authorization" : "Authorization";
    const answer: DigestAuthorization = {
      header: credentialsHeader,
      value: formatCredentials(credentials, credentialsHeader),
      algorithm,
      realm: challenge.realm,
      nonce: challenge.nonce,
    };
    if (qop !== undefined) {
      answer.qop = qop;
      answer.nc = credentials.nc;
    }
    return answer;
  }

  /** The next nc for a nonce: 1 for a new one (RFC 7616 §3.4), then 2, 3, ... */
  #count(nonce: string): number {
    const n = (this.#counts.get(nonce) ?? 0) + 1;
    this.#counts.delete(nonce);
    this.#counts.set(nonce, n);
    if (this.#counts.size > MAX_CLIENT_NONCES) this.#counts.delete(this.#counts.keys().next().value!);
    return n;
  }
}
