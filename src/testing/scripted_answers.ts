/**
 * Scripted answers: what a test tells the mock peer to answer ({@linkcode AnswerAction},
 * {@linkcode AnswerSpec}, {@linkcode AnswerResponse}, {@linkcode AnswerAlternative}), the handle
 * it gets back ({@linkcode MockAnswer}), and the list the mock keeps of them, tried ahead of
 * its static rules: first match wins, each one gone once it has answered `times` requests.
 * An answer is one rule of the rules format, checked by `loadRules`, so the mock answers it as
 * it answers any rule.
 *
 * @module
 */

import type { SipRequest } from "../sip/message.ts";
import { loadRules, type Rule } from "../rules/rules.ts";
import {
  _compileMatch,
  _describeMatch,
  type RequestMatch,
  type RequestPredicate,
  type RequestSource,
} from "./request_match.ts";

/**
 * A response of a scripted answer, as in a rules file (`respond` and `provisional` entries):
 * status, reason, `after` ms from the request's arrival, headers (templates like
 * `{{call_id}}`), body (`"sdp"`, `"echo"`, text, or `{ type, text }`).
 *
 * @example
 * ```ts
 * import { type AnswerResponse } from "@sipecho/sipecho/mock";
 * import { loadRules } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const moved: AnswerResponse = { status: 302, headers: { Contact: "<sip:{{ruri_user}}@192.0.2.7>" }, after: 10 };
 * const [rule] = loadRules([{ respond: moved }]);
 * assert.equal(rule.action.kind === "respond" && rule.action.response.status, 302);
 * ```
 */
export interface AnswerResponse {
  /** 100..699; a 1xx as `respond` means no final response. */
  status: number;
  /** Reason phrase (default: the standard one). */
  reason?: string;
  /** Delay from the arrival of the request, ms (default 0). */
  after?: number;
  /** Extra header fields; values are templates. */
  headers?: Readonly<Record<string, string>> | readonly (readonly [string, string])[];
  /** `"sdp"`, `"echo"`, a text template, or `{ type, text }`. */
  body?: string | { type: string; text: string };
}

/**
 * A scripted answer: one action of the rules format (`respond`, `silent`, `default` or
 * `choose`) with its modifiers (`provisional`, `retransmit`, `duplicate`); see the README's
 * "Rules" section. Checked with `loadRules` when given.
 *
 * @example
 * ```ts
 * import { type AnswerSpec } from "@sipecho/sipecho/mock";
 * import { MockPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using peer = await MockPeer.start();
 * const ringThenBusy: AnswerSpec = {
 *   provisional: [{ status: 180, after: 0 }],
 *   respond: { status: 486, after: 20 },
 *   retransmit: false,
 * };
 * peer.answer("INVITE", ringThenBusy);
 * const call = await peer.request({ method: "INVITE", uri: peer.uri, sdp: true });
 * assert.equal(call.status, 486);
 * ```
 */
export interface AnswerSpec {
  /** Answer with this response. */
  respond?: AnswerResponse;
  /** Send nothing at all, not even 100 Trying. */
  silent?: boolean;
  /** Let the built-in behaviour answer (with the modifiers). */
  default?: boolean;
  /** Pick one alternative at random by weight (seeded by the `seed` option). */
  choose?: readonly AnswerAlternative[];
  /** Provisional responses before the final one, each with its own `after`. */
  provisional?: readonly AnswerResponse[];
  /** `false` withholds retransmissions of the final response (default true). */
  retransmit?: boolean;
  /** Send every response this many times, 1..10. */
  duplicate?: number;
  /**
   * Digest authentication first (RFC 3261 §22), as a rules file's `auth` modifier: `true` (the
   * mock's `auth` settings), `false` (none, even where they ask), or settings over them: realm,
   * users (name: password, or `{ ha1: { MD5: ... } }`), proxy (407), algorithms.
   */
  auth?:
    | boolean
    | {
      realm?: string;
      users?: Readonly<Record<string, string | { password: string } | { ha1: Readonly<Record<string, string>> }>>;
      proxy?: boolean;
      algorithms?: readonly string[];
    };
  /**
   * What DTMF keys or key sequences do in the call: `{ "#": "hangup", "1": { "play": "a.wav" }, "0": "echo" }`
   * (with the `media` option).
   */
  dtmf?: Readonly<
    Record<string, "hangup" | "echo" | { play: string | { file: string; then?: "hangup" | "echo" } }>
  >;
  /** Answer and play a WAV file instead of the echo (with the `media` option). */
  play?: string | { file: string; then?: "hangup" | "echo" };
  /** A name for logs (default `answer #N (match)`). */
  name?: string;
  /** Free text. */
  comment?: string;
}

/**
 * One alternative of {@linkcode AnswerSpec.choose}.
 *
 * @example
 * ```ts
 * import { type AnswerAlternative } from "@sipecho/sipecho/mock";
 * import { loadRules } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const flaky: AnswerAlternative[] = [{ weight: 9, default: true }, { weight: 1, silent: true }];
 * const [rule] = loadRules([{ choose: flaky }]);
 * assert.equal(rule.action.kind, "choose");
 * ```
 */
export interface AnswerAlternative extends Omit<AnswerSpec, "name"> {
  /** Positive weight. */
  weight: number;
}

/**
 * A scripted answer: a status code (`486`), or a full {@linkcode AnswerSpec}.
 *
 * @example
 * ```ts
 * import type { AnswerAction } from "@sipecho/sipecho/mock";
 * import assert from "node:assert/strict";
 *
 * const answers: AnswerAction[] = [486, { respond: { status: 486 } }, { silent: true }];
 * assert.equal(answers.length, 3);
 * ```
 */
export type AnswerAction = number | AnswerSpec;

/**
 * Options of {@linkcode MockPeer.answer}.
 *
 * @example
 * ```ts
 * import { MockPeer } from "@sipecho/sipecho";
 * import { type MockAnswerOptions } from "@sipecho/sipecho/mock";
 * import assert from "node:assert/strict";
 *
 * await using peer = await MockPeer.start();
 * const always: MockAnswerOptions = { times: Infinity };
 * assert.equal(peer.answer("OPTIONS", 503, always).remaining, Infinity);
 * ```
 */
export interface MockAnswerOptions {
  /** How many requests it answers (default 1); `Infinity` for all. */
  times?: number;
}

/**
 * A scripted answer in place, from {@linkcode MockPeer.answer}.
 *
 * @example
 * ```ts
 * import { type MockAnswer } from "@sipecho/sipecho/mock";
 * import { MockPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using peer = await MockPeer.start();
 * const twice: MockAnswer = peer.answer("OPTIONS", 500, { times: 2 });
 * await peer.request({ method: "OPTIONS", uri: peer.uri });
 * assert.equal(twice.requests.length, 1);
 * assert.equal(twice.remaining, 1);
 * twice.remove();
 * assert.equal((await peer.request({ method: "OPTIONS", uri: peer.uri })).status, 200);
 * ```
 */
export interface MockAnswer {
  /** Its name, in the peer's `rule` events. */
  readonly name: string;
  /** The requests it has answered, in order. */
  readonly requests: readonly SipRequest[];
  /** How many more it will answer (`Infinity` for all). */
  readonly remaining: number;
  /** Takes it away before it is used up. */
  remove(): void;
}

/** A scripted answer, as kept. */
interface _Answer {
  name: string;
  test: RequestPredicate;
  rule: Rule;
  times: number;
  remaining: number;
  requests: SipRequest[];
  /** Where the test scripted it (`file:line:column`), for `assertDone()`. */
  site: string;
  handle: MockAnswer;
}

/** The scripted answers of a mock peer, in the order given. */
export class _ScriptedAnswers {
  #answers: _Answer[] = [];
  /** The answers still expected: neither used up nor removed. */
  #expected = new Set<_Answer>();
  /** Answers made so far, for their default names. */
  #count = 0;

  /**
   * Adds an answer at the end of the list (see `MockPeer.answer()`).
   *
   * @param match Which requests.
   * @param action A status code or an {@linkcode AnswerSpec}.
   * @param options `times`.
   * @param site Where the test scripted it, for `assertDone()`.
   * @returns Its handle.
   * @throws {RulesError} If `action` is not a valid action.
   * @throws {RangeError} If `times` is not a positive integer or `Infinity`.
   * @throws {TypeError} If `match` or `action` is of the wrong kind.
   */
  add(match: RequestMatch, action: AnswerAction, options: MockAnswerOptions, site = "(unknown)"): MockAnswer {
    const times = options.times ?? 1;
    if (!(times === Infinity || (Number.isInteger(times) && times > 0))) {
      throw new RangeError(`answer(): times must be a positive integer or Infinity, got ${times}`);
    }
    const test = _compileMatch(match, "answer()");
    const spec = typeof action === "number" ? { respond: { status: action } } : action;
    if (typeof spec !== "object" || spec === null || "match" in spec) {
      throw new TypeError("answer(): the action is a status code or an object without `match` (give it as `match`)");
    }
    const name = spec.name ?? `answer #${++this.#count} (${_describeMatch(match)})`;
    const [rule] = loadRules([{ ...spec, name }], "answer()");
    // The handle reads `answer` only when called, after it exists.
    const handle: MockAnswer = {
      name,
      get requests() {
        return [...answer.requests];
      },
      get remaining() {
        return answer.remaining;
      },
      remove: () => {
        this.#answers = this.#answers.filter((a) => a !== answer);
        this.#expected.delete(answer);
      },
    };
    const answer: _Answer = { name, test, rule, times, remaining: times, requests: [], site, handle };
    this.#answers.push(answer);
    this.#expected.add(answer);
    return answer.handle;
  }

  /**
   * The answers not used up, in the order given: a finite one that has answered fewer than
   * `times` requests, an `Infinity` one that has answered none. Removed ones are not expected.
   */
  unused(): { handle: MockAnswer; answered: number; times: number; site: string }[] {
    return [...this.#expected].map((a) => ({
      handle: a.handle,
      answered: a.requests.length,
      times: a.times,
      site: a.site,
    }));
  }

  /**
   * The rule of the first answer that matches a new request, which it counts; undefined when
   * none does (the static rules answer). A predicate that throws matches nothing.
   *
   * @param request The request.
   * @param source Where it came from.
   * @returns The rule to answer with.
   */
  select(request: SipRequest, source: RequestSource): Rule | undefined {
    for (const answer of this.#answers) {
      let hit = false;
      try {
        hit = answer.test(request, source);
      } catch {
        hit = false;
      }
      if (!hit) continue;
      answer.remaining--;
      answer.requests.push(request);
      if (answer.remaining <= 0) this.#answers = this.#answers.filter((a) => a !== answer);
      if (answer.remaining <= 0 || answer.times === Infinity) this.#expected.delete(answer);
      return answer.rule;
    }
    return undefined;
  }

  /** Forgets every answer (their names keep counting). */
  clear(): void {
    this.#answers = [];
    this.#expected.clear();
  }
}
