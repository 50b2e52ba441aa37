/**
 * `@sipecho/sipecho/mock`: the mock peer for test suites. {@linkcode mockPeer} starts a sipecho on
 * port 0 that records what it receives and sends, waits for requests and calls, answers as each
 * test scripts it, and calls the system under test from its own socket; a wait that times out
 * throws a {@linkcode MockTimeoutError} with the requests that came closest and the ladder diagram of what was
 * seen; `assertDone()` throws a {@linkcode MockAssertionError} for what was scripted and not seen.
 *
 * @example
 * ```ts
 * import { mockPeer } from "@sipecho/sipecho/mock";
 * import assert from "node:assert/strict";
 *
 * await using peer = await mockPeer();
 * peer.answer("INVITE", 486);
 * const result = await peer.request({ method: "INVITE", uri: peer.uriFor("bob"), sdp: true });
 * assert.equal(result.status, 486);
 * ```
 *
 * @module
 */

export {
  type AnswerAction,
  type AnswerAlternative,
  type AnswerResponse,
  type AnswerSpec,
  type MockAnswer,
  type MockAnswerOptions,
  type MockCall,
  MockPeer,
  mockPeer,
  type MockPeerOptions,
  type RequestMatch,
  type RequestPattern,
  type RequestPredicate,
  type RequestSource,
  type WaitOptions,
} from "./mock.ts";
export type {
  AckOptions,
  DialogRequestOptions,
  HeaderFields,
  RequestOptions,
  UacCredentials,
  UacResult,
} from "../net/uac/uac.ts";
export { formatLadder, type LadderOptions, MockTimeoutError } from "./ladder.ts";
export { MockAssertionError } from "./unmet.ts";
