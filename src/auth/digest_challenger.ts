/**
 * The server side of digest authentication, pure: {@linkcode DigestChallenger} makes the
 * challenges of a 401 or 407 (RFC 3261 §22.2, §22.3) and checks the credentials of the
 * request that answers one (RFC 7616 §3.4; RFC 3261 §22.4). Its clock and secret are given to
 * it; it keeps no table of nonces ({@linkcode issueNonce}), only a bounded table of the nonce
 * counts seen ({@linkcode NonceCountWindow}).
 *
 * @module
 */

import { type DigestAlgorithm, digestAlgorithm, isSessionAlgorithm } from "./algorithm.ts";
import { algorithmHash } from "./algorithm.ts";
import { digestHA1, digestResponse } from "./digest_response.ts";
import { formatChallenge } from "./format_digest.ts";
import type { HashFunction } from "../hash/hash_function.ts";
import { DEFAULT_MAX_NONCES, NonceCountWindow } from "./nc_window.ts";
import { issueNonce, type NonceKey, openNonce } from "./nonce.ts";
import { type DigestCredentials, parseCredentials } from "./parse_digest.ts";

/**
 * A user the challenger knows: a password, or H(A1) precomputed per hash ({@linkcode digestHA1}),
 * so that the password need not be stored. A user with H(A1) for some hashes only can use only
 * the algorithms of those hashes.
 *
 * @example
 * ```ts
 * import type { DigestUser } from "./digest_challenger.ts";
 * const alice: DigestUser = { password: "secret" };
 * const bob: DigestUser = { ha1: { MD5: "939e7578ed9e3c518a452acee763bce9" } };
 * ```
 */
export type DigestUser =
  | { readonly password: string }
  | { readonly ha1: Readonly<Partial<Record<HashFunction["name"], string>>> };

/**
 * Options of {@linkcode DigestChallenger}.
 *
 * @example
 * ```ts
 * import type { DigestChallengerOptions } from "./digest_challenger.ts";
 * const options: DigestChallengerOptions = {
 *   realm: "atlanta.example.com",
 *   users: { alice: { password: "secret" } },
 *   secret: new Uint8Array(32).fill(1), // in production: random bytes
 *   now: () => Date.now(),
 * };
 * ```
 */
export interface DigestChallengerOptions {
  /** The realm (RFC 3261 §22.1: a globally unique name, such as the domain). */
  realm: string;
  /** The users by name, or a function that looks one up (undefined for none). */
  users: Readonly<Record<string, DigestUser>> | ((username: string) => DigestUser | undefined);
  /** The secret that signs nonces, at least 16 bytes; random per process unless nonces must outlive it. */
  secret: Uint8Array;
  /** The clock, milliseconds since the epoch. */
  now: () => number;
  /**
   * The algorithms offered, most preferred first: one challenge each (RFC 8760 §2.4). Default
   * `["SHA-256", "MD5"]`: SHA-256 for clients that know it, MD5 for the rest.
   */
  algorithms?: readonly DigestAlgorithm[];
  /** The qop-options offered (RFC 7616 §3.3). Default `["auth"]`. */
  qop?: readonly ("auth" | "auth-int")[];
  /** How long a nonce stays fresh, seconds; past it, `stale=true` (RFC 7616 §3.3). Default 300. */
  nonceLifetime?: number;
  /** How many nonces' counts are kept for replay checks ({@linkcode NonceCountWindow}). Default 4096. */
  maxNonces?: number;
  /** Challenge as a proxy: 407 with Proxy-Authenticate, Proxy-Authorization back (RFC 3261 §22.3). */
  proxy?: boolean;
}

/**
 * Why credentials were refused. `missing`: the request has none for this realm (the usual
 * first request, no failure). `malformed`: they do not parse, or lack what the algorithm needs.
 * `wrong-realm`: Digest credentials, none for this realm. `unsupported-algorithm`: an algorithm
 * not offered, or one the user has no H(A1) for. `unsupported-qop`: a qop not offered.
 * `bad-nonce`: a nonce this challenger did not issue (for this realm and source).
 * `uri-mismatch`: the digest-uri is not the Request-URI. `unknown-user`. `wrong-response`.
 * `stale-nonce`: the response was right but the nonce expired (or its counts were evicted).
 * `replay`: an nc not above one already accepted for the nonce.
 *
 * @example
 * ```ts
 * import type { DigestRefusalReason } from "./digest_challenger.ts";
 * const counted: DigestRefusalReason[] = ["wrong-response", "unknown-user", "bad-nonce", "replay"];
 * ```
 */
export type DigestRefusalReason =
  | "missing"
  | "malformed"
  | "wrong-realm"
  | "unsupported-algorithm"
  | "unsupported-qop"
  | "bad-nonce"
  | "uri-mismatch"
  | "unknown-user"
  | "wrong-response"
  | "stale-nonce"
  | "replay";

/**
 * The request whose credentials {@linkcode DigestChallenger.verify} checks.
 *
 * @example
 * ```ts
 * import type { DigestRequest } from "./digest_challenger.ts";
 * const request: DigestRequest = { method: "REGISTER", uri: "sip:atlanta.example.com", credentials: undefined };
 * ```
 */
export interface DigestRequest {
  /** The request method. */
  method: string;
  /** The Request-URI as written in the request line. */
  uri: string;
  /** The body, for qop=auth-int; none is the empty body. */
  body?: string | Uint8Array;
  /** The Authorization (or Proxy-Authorization) values; several when several realms are answered. */
  credentials: string | readonly string[] | undefined;
  /** The source the challenge was bound to, if it was. */
  source?: string;
}

/**
 * Credentials accepted.
 *
 * @example
 * ```ts
 * import type { DigestAccepted } from "./digest_challenger.ts";
 * const ok: DigestAccepted = { ok: true, username: "alice", algorithm: "SHA-256", qop: "auth" };
 * ```
 */
export interface DigestAccepted {
  /** Accepted. */
  ok: true;
  /** The authenticated user. */
  username: string;
  /** The algorithm used. */
  algorithm: DigestAlgorithm;
  /** The qop used; absent for an RFC 2069 response. */
  qop?: string;
}

/**
 * Credentials refused: the reason, and the challenges to send with the 401 or 407, which are
 * always fresh (`stale=true` when the reason is `stale-nonce`).
 *
 * @example
 * ```ts
 * import type { DigestRefused } from "./digest_challenger.ts";
 * const refused: DigestRefused = { ok: false, reason: "missing", detail: "no credentials", challenges: [] };
 * ```
 */
export interface DigestRefused {
  /** Refused. */
  ok: false;
  /** Why. */
  reason: DigestRefusalReason;
  /** A sentence for logs: what was wrong and with what. */
  detail: string;
  /** The username the credentials gave, when they gave one (for per-user throttling). */
  username?: string;
  /** The values of the challenge header ({@linkcode DigestChallenger.challengeHeader}), one per algorithm. */
  challenges: string[];
}

/**
 * What {@linkcode DigestChallenger.verify} returns.
 *
 * @example
 * ```ts
 * import type { DigestVerdict } from "./digest_challenger.ts";
 * const describe = (v: DigestVerdict) => v.ok ? `ok ${v.username}` : `refused: ${v.reason}`;
 * ```
 */
export type DigestVerdict = DigestAccepted | DigestRefused;

/**
 * Challenges requests and verifies their digest credentials, for one realm.
 *
 * Nonces carry their issue time and an HMAC of it, the realm and the source under the secret,
 * so the challenger checks them without a table. A nonce is fresh for `nonceLifetime` seconds;
 * a right response with an older one gets `stale-nonce`, and the fresh challenge says
 * `stale=true` so that the client retries without asking its user (RFC 7616 §3.3). The highest
 * nc accepted for each of the last `maxNonces` nonces used is kept, to refuse replays; a
 * response without qop (RFC 2069, RFC 3261 §22.4) has no nc, so its nonce serves once.
 *
 * @example
 * ```ts
 * import { DigestChallenger } from "./digest_challenger.ts";
 * import { DigestClient } from "./digest_client.ts";
 * import assert from "node:assert/strict";
 *
 * let now = 1_700_000_000_000;
 * const server = new DigestChallenger({
 *   realm: "atlanta.example.com",
 *   users: { alice: { password: "secret" } },
 *   secret: new Uint8Array(32).fill(1),
 *   now: () => now,
 * });
 * const request = { method: "REGISTER", uri: "sip:atlanta.example.com" };
 * const first = server.verify({ ...request, credentials: undefined });
 * assert.ok(!first.ok && first.reason === "missing");
 * assert.equal(first.challenges.length, 2); // SHA-256, then MD5
 *
 * const client = new DigestClient({ username: "alice", password: "secret", random: (n) => new Uint8Array(n).fill(9) });
 * const answer = client.authorize({ ...request, challenges: first.challenges });
 * assert.equal(answer.algorithm, "SHA-256");
 * assert.deepEqual(server.verify({ ...request, credentials: answer.value }), {
 *   ok: true, username: "alice", algorithm: "SHA-256", qop: "auth",
 * });
 *
 * now += 301_000; // past the nonce's lifetime
 * const again = server.verify({ ...request, credentials: client.authorize({ ...request, challenges: first.challenges }).value });
 * assert.ok(!again.ok && again.reason === "stale-nonce");
 * assert.match(again.challenges[0], /stale=true/);
 * ```
 */
export class DigestChallenger {
  /** The realm. */
  readonly realm: string;
  /** The status that carries the challenges: 401, or 407 for a proxy. */
  readonly status: 401 | 407;
  /** The header of the challenges: WWW-Authenticate, or Proxy-Authenticate for a proxy. */
  readonly challengeHeader: "WWW-Authenticate" | "Proxy-Authenticate";
  /** The header of the credentials: Authorization, or Proxy-Authorization for a proxy. */
  readonly credentialsHeader: "Authorization" | "Proxy-Authorization";
  /** The algorithms offered, most preferred first. */
  readonly algorithms: readonly DigestAlgorithm[];
  /** The qop-options offered. */
  readonly qop: readonly ("auth" | "auth-int")[];
  /** How long a nonce stays fresh, seconds. */
  readonly nonceLifetime: number;
  readonly #users: DigestChallengerOptions["users"];
  readonly #secret: Uint8Array;
  readonly #now: () => number;
  readonly #window: NonceCountWindow;
  #sequence = 0;

  /**
   * Makes a challenger.
   *
   * @param options Realm, users, secret, clock, and the optional choices.
   * @throws {RangeError} If the secret is shorter than 16 bytes, no algorithm is offered, the
   * lifetime is not positive, or maxNonces is not a positive integer.
   */
  constructor(options: DigestChallengerOptions) {
    if (options.secret.length < 16) {
      throw new RangeError(`DigestChallenger: the secret has ${options.secret.length} bytes; it needs 16 or more`);
    }
    const algorithms = options.algorithms ?? ["SHA-256", "MD5"];
    if (algorithms.length === 0) throw new RangeError("DigestChallenger: algorithms is empty");
    const lifetime = options.nonceLifetime ?? 300;
    if (!(lifetime > 0)) throw new RangeError(`DigestChallenger: nonceLifetime ${lifetime} is not a positive number`);
    this.realm = options.realm;
    this.status = options.proxy ? 407 : 401;
    this.challengeHeader = options.proxy ? "Proxy-Authenticate" : "WWW-Authenticate";
    this.credentialsHeader = options.proxy ? "Proxy-Authorization" : "Authorization";
    this.algorithms = Object.freeze([...algorithms]);
    this.qop = Object.freeze([...(options.qop ?? ["auth"])]);
    this.nonceLifetime = lifetime;
    this.#users = options.users;
    this.#secret = options.secret;
    this.#now = options.now;
    this.#window = new NonceCountWindow(options.maxNonces ?? DEFAULT_MAX_NONCES);
    // Check realm and qop once here rather than on the first challenge.
    this.challenge();
  }

  /** The nonce-count window's bound: how many nonces' counts are kept. */
  get maxNonces(): number {
    return this.#window.limit;
  }

  /**
   * Fresh challenges, one per algorithm offered, most preferred first (RFC 8760 §2.4), all
   * with the same new nonce.
   *
   * @param options `source` binds the nonce to the client's source; `stale` marks the challenge
   * as answering a stale nonce.
   * @returns The values of {@linkcode DigestChallenger.challengeHeader}, one header each.
   */
  challenge(options: { source?: string; stale?: boolean } = {}): string[] {
    const nonce = issueNonce(this.#key(options.source), this.#now(), this.#sequence++);
    return this.algorithms.map((algorithm) =>
      formatChallenge(
        {
          realm: this.realm,
          nonce,
          ...(options.stale ? { stale: true } : {}),
          algorithm,
          ...(this.qop.length > 0 ? { qop: [...this.qop] } : {}),
          params: {},
        },
        this.challengeHeader,
      )
    );
  }

  /**
   * Verifies the credentials of a request (RFC 7616 §3.4; RFC 3261 §22.4). A refusal carries
   * fresh challenges: answer it with {@linkcode DigestChallenger.status} and one
   * {@linkcode DigestChallenger.challengeHeader} per challenge.
   *
   * @param request The method, Request-URI, body, credentials and source.
   * @returns {@linkcode DigestAccepted} or {@linkcode DigestRefused}.
   */
  verify(request: DigestRequest): DigestVerdict {
    const picked = this.#pick(request.credentials);
    if (!("credentials" in picked)) return this.#refuse(request, picked.reason, picked.detail);
    const c = picked.credentials;
    const refuse = (reason: DigestRefusalReason, detail: string) => this.#refuse(request, reason, detail, c.username);
    // RFC 7616 §3.3: no algorithm means MD5.
    const algorithm = digestAlgorithm(c.algorithm ?? "MD5");
    if (algorithm === undefined || !this.algorithms.includes(algorithm)) {
      return refuse("unsupported-algorithm", `algorithm ${c.algorithm ?? "MD5 (by default)"} is not offered`);
    }
    if (c.qop !== undefined && !(this.qop as readonly string[]).includes(c.qop)) {
      return refuse("unsupported-qop", `qop ${c.qop} is not offered`);
    }
    if (c.qop === undefined && isSessionAlgorithm(algorithm)) {
      return refuse("malformed", `${algorithm} needs a cnonce, which only comes with qop`);
    }
    const issued = openNonce(this.#key(request.source), c.nonce);
    if (issued === undefined) return refuse("bad-nonce", `nonce "${c.nonce}" was not issued here`);
    // RFC 3261 §22.4 / RFC 7616 §3.4.6: the digest-uri is the Request-URI the response covers.
    if (c.uri !== request.uri) return refuse("uri-mismatch", `uri "${c.uri}" is not the Request-URI "${request.uri}"`);
    const user = this.#user(c.username);
    if (user === undefined) return refuse("unknown-user", `user "${c.username}" is unknown`);
    const hash = algorithmHash(algorithm).name;
    const ha1 = "password" in user ? digestHA1(algorithm, c.username, this.realm, user.password) : user.ha1[hash];
    if (ha1 === undefined) {
      return refuse("unsupported-algorithm", `user "${c.username}" has no H(A1) for ${hash}`);
    }
    const expected = digestResponse({
      algorithm,
      ha1,
      method: request.method,
      uri: c.uri,
      nonce: c.nonce,
      qop: c.qop,
      nc: c.nc,
      cnonce: c.cnonce,
      body: request.body,
    });
    if (!_sameHex(expected, c.response)) return refuse("wrong-response", `the response for "${c.username}" is wrong`);
    // Only a right response reaches here: stale=true tells the client its password was right.
    const age = this.#now() - issued;
    if (age > this.nonceLifetime * 1000) {
      return refuse("stale-nonce", `nonce issued ${Math.round(age / 1000)} s ago, past ${this.nonceLifetime} s`);
    }
    const nc = c.nc === undefined ? 0 : parseInt(c.nc, 16);
    const check = this.#window.accept(c.nonce, issued, nc);
    if (check === "forgotten") return refuse("stale-nonce", "the nonce's counts were evicted from the window");
    if (check === "replay") {
      return refuse("replay", c.nc === undefined ? "the nonce was already used without qop" : `nc ${c.nc} is not new`);
    }
    const accepted: DigestAccepted = { ok: true, username: c.username, algorithm };
    if (c.qop !== undefined) accepted.qop = c.qop;
    return accepted;
  }

  #key(source: string | undefined): NonceKey {
    return source === undefined
      ? { secret: this.#secret, realm: this.realm }
      : { secret: this.#secret, realm: this.realm, source };
  }

  #user(username: string): DigestUser | undefined {
    const users = this.#users;
    if (typeof users === "function") return users(username);
    // Own properties only: "constructor" or "__proto__" is no user.
    return Object.hasOwn(users, username) ? users[username] : undefined;
  }

  /** The credentials for this realm among those of the request, or why there are none. */
  #pick(
    values: string | readonly string[] | undefined,
  ): { credentials: DigestCredentials } | { reason: DigestRefusalReason; detail: string } {
    const list = values === undefined ? [] : typeof values === "string" ? [values] : values;
    let malformed: string | undefined;
    const realms: string[] = [];
    for (const value of list) {
      let credentials: DigestCredentials;
      try {
        credentials = parseCredentials(value, this.credentialsHeader);
      } catch (e) {
        malformed ??= (e as Error).message;
        continue;
      }
      if (credentials.realm === this.realm) return { credentials };
      realms.push(credentials.realm);
    }
    if (realms.length > 0) {
      return { reason: "wrong-realm", detail: `credentials for realm "${realms.join('", "')}", not "${this.realm}"` };
    }
    if (malformed !== undefined) return { reason: "malformed", detail: malformed };
    return { reason: "missing", detail: `no ${this.credentialsHeader}` };
  }

  #refuse(request: DigestRequest, reason: DigestRefusalReason, detail: string, username?: string): DigestRefused {
    const challenges = this.challenge({ source: request.source, stale: reason === "stale-nonce" });
    const refused: DigestRefused = { ok: false, reason, detail, challenges };
    if (username !== undefined) refused.username = username;
    return refused;
  }
}

/** Equal hex strings, in either case, compared in time that depends on the length only. */
function _sameHex(expected: string, given: string): boolean {
  if (expected.length !== given.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ (given.charCodeAt(i) | 0x20);
  return diff === 0;
}
