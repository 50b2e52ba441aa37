/**
 * Digest authentication in the peer (RFC 3261 §22): which new requests must authenticate, the
 * challenge of those that do not (401 with one WWW-Authenticate per algorithm, or 407 with
 * Proxy-Authenticate), the check of their credentials by a {@linkcode DigestChallenger} of
 * src/auth, and the throttling of sources that fail too often ({@linkcode AuthThrottle}).
 * Internal to src/ua: the planner asks {@linkcode AuthGate.check} before it plans an answer.
 *
 * What needs authentication, first that applies:
 * - a rule with `auth: false`: nothing;
 * - a rule with `auth` (or the built-in test user `auth`): what it matches, with its settings
 *   over the global ones;
 * - the global settings (`PeerOptions.auth`): their `methods` (default REGISTER and INVITE)
 *   outside a dialog.
 *
 * ACK and CANCEL never are (RFC 3261 §22.1: they cannot be resubmitted; they do not reach the
 * planner anyway).
 *
 * @module
 */

import { DigestChallenger, type DigestRefusalReason } from "../auth/digest_challenger.ts";
import {
  type AuthConfig,
  type AuthSpec,
  DEFAULT_AUTH_ALGORITHMS,
  DEFAULT_AUTH_METHODS,
  DEFAULT_REALM,
} from "../rules/auth_spec.ts";
import type { Rule } from "../rules/types.ts";
import type { SipRequest } from "../sip/message.ts";
import { AuthThrottle, type AuthThrottleLimits } from "./auth_throttle.ts";
import { sourceKey } from "./guard.ts";
import type { _EventDetails, PeerEvent, Remote } from "./types.ts";

/**
 * The digest settings of a peer (`PeerOptions.auth`): the global settings of the rules format
 * ({@linkcode AuthConfig}), and what only code gives.
 *
 * @example
 * ```ts
 * import type { PeerAuthOptions } from "@sipecho/sipecho/peer";
 * const auth: PeerAuthOptions = {
 *   realm: "lab.example.com",
 *   users: { alice: { password: "secret" } },
 *   secret: new Uint8Array(32).fill(1), // tests only: random per peer by default
 *   throttle: { failures: 3 },
 * };
 * ```
 */
export interface PeerAuthOptions extends AuthConfig {
  /** The secret that signs nonces, 16 bytes or more (default: 32 random bytes per peer, so per process). */
  secret?: Uint8Array;
  /** How long a nonce stays fresh, seconds (default 300); past it, `stale=true` (RFC 7616 §3.3). */
  nonceLifetime?: number;
  /** Failed authentications per source: how many in what window block it, and how many sources are counted. */
  throttle?: Partial<AuthThrottleLimits>;
}

/** What the gate needs of the peer. */
export interface AuthGateHost {
  /** The time, ms. */
  now(): number;
  /** Whether anyone listens to events. */
  eventsWanted: boolean;
  event(kind: PeerEvent["kind"], message: string, remote?: Remote, details?: _EventDetails): void;
}

/** A request refused: the status, reason phrase and header fields of the final response. */
export interface _AuthRefusal {
  status: number;
  reason?: string;
  headers: [string, string][];
}

/** Most challengers kept for settings given by rules (those of the mock's answer() come and go). */
const _MAX_CHALLENGERS = 256;

/** Refusals that count against a source: not the first request without credentials, not a stale nonce. */
const _UNCOUNTED: readonly DigestRefusalReason[] = ["missing", "stale-nonce"];

/**
 * Checks the rules' `auth` against the global settings, before the peer runs: a rule (or the
 * global settings, when they challenge methods) that would challenge with no user to accept.
 *
 * @param auth The global settings, if any.
 * @param rules The rules.
 * @returns The problem, naming where it is, or undefined when all is well.
 *
 * @example
 * ```ts
 * import { _authProblem } from "./auth_gate.ts";
 * import { loadRules } from "../rules/load.ts";
 * import assert from "node:assert/strict";
 *
 * const rules = loadRules([{ auth: true, default: true }], "r.json");
 * assert.match(_authProblem(undefined, rules) ?? "", /^r\.json: \[0\]\.auth: no users/);
 * assert.equal(_authProblem({ users: { alice: { password: "x" } } }, rules), undefined);
 * ```
 */
export function _authProblem(auth: AuthConfig | undefined, rules: readonly Rule[]): string | undefined {
  const global = auth?.users !== undefined && Object.keys(auth.users).length > 0;
  if (auth !== undefined && !global && (auth.methods ?? DEFAULT_AUTH_METHODS).length > 0) {
    return `auth: no users, so ${(auth.methods ?? DEFAULT_AUTH_METHODS).join(" and ")} could never pass ` +
      '(give users, or "methods": [] to challenge by rules only)';
  }
  for (const rule of rules) {
    const found = _specs(rule.action).find((spec) => spec.users === undefined && !global);
    if (found !== undefined) {
      return `${rule.file}: ${rule.path}.auth: no users here nor in the global settings, so nothing could pass ` +
        "(give auth.users, the top-level auth.users of the file, or --auth-user)";
    }
  }
  return undefined;
}

/** The `auth` settings given anywhere in an action. */
function _specs(action: Rule["action"]): AuthSpec[] {
  if (action.kind === "silent") return [];
  const own = action.modifiers.auth ? [action.modifiers.auth] : [];
  return action.kind === "choose" ? [...own, ...action.alternatives.flatMap((a) => _specs(a.action))] : own;
}

/** The peer's digest authentication (see the module documentation). */
export class AuthGate {
  readonly #h: AuthGateHost;
  readonly #global: PeerAuthOptions | undefined;
  readonly #methods: ReadonlySet<string>;
  readonly #secret: Uint8Array;
  /** The global settings' challenger, made when first needed. */
  #globalChallenger: DigestChallenger | undefined;
  /** A challenger per settings object of a rule (frozen, so the same object each time). */
  readonly #challengers = new Map<AuthSpec, DigestChallenger>();
  readonly #throttle: AuthThrottle;

  /**
   * @param options The global settings (none: only rules with `auth` challenge).
   * @param host The clock and the events.
   * @throws {RangeError} If the secret is shorter than 16 bytes, or a throttle limit is out of range.
   */
  constructor(options: PeerAuthOptions | undefined, host: AuthGateHost) {
    this.#h = host;
    this.#global = options;
    this.#methods = new Set(options === undefined ? [] : options.methods ?? DEFAULT_AUTH_METHODS);
    this.#secret = options?.secret ?? crypto.getRandomValues(new Uint8Array(32));
    if (this.#secret.length < 16) {
      throw new RangeError(`SipPeer: auth.secret has ${this.#secret.length} bytes; it needs 16 or more`);
    }
    this.#throttle = new AuthThrottle(options?.throttle);
    if (options !== undefined) this.#globalChallenger = this.#make({});
  }

  /** The failure counts per source. */
  get throttle(): AuthThrottle {
    return this.#throttle;
  }

  /**
   * Whether a new request may go on: undefined when it needs no authentication or passed,
   * else the final response that refuses it (a challenge, or 403 for a blocked source).
   *
   * @param request The request.
   * @param remote Where it came from.
   * @param inDialog Whether it is inside a dialog (the global settings apply outside only).
   * @param spec The `auth` of the rule that answers it (or of the built-in test user).
   */
  check(
    request: SipRequest,
    remote: Remote,
    inDialog: boolean,
    spec: AuthSpec | false | undefined,
  ): _AuthRefusal | undefined {
    if (spec === false) return undefined;
    const method = request.method;
    if (method === "ACK" || method === "CANCEL") return undefined;
    let challenger: DigestChallenger;
    if (spec !== undefined) challenger = this.#for(spec);
    else if (this.#globalChallenger !== undefined && !inDialog && this.#methods.has(method)) {
      challenger = this.#globalChallenger;
    } else return undefined;
    const now = Math.floor(this.#h.now());
    const key = sourceKey(remote.address);
    const what = `${method} ${request.uri}`;
    if (this.#throttle.blocked(key, now)) return _forbidden();
    const verdict = challenger.verify({
      method,
      uri: request.uri,
      body: request.body,
      credentials: request.headers.getFields(challenger.credentialsHeader),
      source: remote.address,
    });
    if (verdict.ok) {
      this.#throttle.succeed(key);
      if (this.#h.eventsWanted) {
        this.#h.event(
          "auth",
          `${what}: "${verdict.username}" authenticated (${verdict.algorithm}, realm "${challenger.realm}")`,
          remote,
          { callId: request.callId, reason: "ok", user: verdict.username },
        );
      }
      return undefined;
    }
    const details: _EventDetails = { callId: request.callId, reason: verdict.reason };
    if (verdict.username !== undefined) details.user = verdict.username;
    if (!_UNCOUNTED.includes(verdict.reason) && this.#throttle.fail(key, now)) {
      const l = this.#throttle.limits;
      this.#h.event(
        "limit",
        `auth: ${key} failed ${l.failures} times within ${l.window / 1000} s: 403 for ${l.window / 1000} s`,
        remote,
      );
      return _forbidden();
    }
    if (this.#h.eventsWanted) {
      const why = verdict.reason === "missing" ? "challenged" : `refused (${verdict.reason}: ${verdict.detail})`;
      this.#h.event("auth", `${what}: ${why}: ${challenger.status}, realm "${challenger.realm}"`, remote, details);
    }
    return {
      status: challenger.status,
      headers: verdict.challenges.map((value): [string, string] => [challenger.challengeHeader, value]),
    };
  }

  /** The challenger of a rule's settings: the global one for `{}`, else one of its own. */
  #for(spec: AuthSpec): DigestChallenger {
    if (this.#globalChallenger !== undefined && Object.keys(spec).length === 0) return this.#globalChallenger;
    let challenger = this.#challengers.get(spec);
    if (challenger === undefined) {
      if (this.#challengers.size >= _MAX_CHALLENGERS) this.#challengers.delete(this.#challengers.keys().next().value!);
      challenger = this.#make(spec);
      this.#challengers.set(spec, challenger);
    }
    return challenger;
  }

  /** A challenger for the global settings with `spec` over them. */
  #make(spec: AuthSpec): DigestChallenger {
    const g = this.#global;
    return new DigestChallenger({
      realm: spec.realm ?? g?.realm ?? DEFAULT_REALM,
      users: spec.users ?? g?.users ?? {},
      secret: this.#secret,
      now: () => Math.floor(this.#h.now()),
      algorithms: spec.algorithms ?? g?.algorithms ?? DEFAULT_AUTH_ALGORITHMS,
      proxy: spec.proxy ?? g?.proxy ?? false,
      nonceLifetime: g?.nonceLifetime,
    });
  }
}

/** The answer to a source blocked for failing too often (RFC 3261 §21.4.4). */
function _forbidden(): _AuthRefusal {
  return { status: 403, reason: "Forbidden: too many failed authentications from this source", headers: [] };
}
