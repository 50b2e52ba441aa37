/**
 * What a mock peer was told to expect and did not see: scripted answers never used up and
 * requests no script answered, as one error ({@linkcode MockAssertionError}).
 *
 * @module
 */

import type { TrafficEntry } from "../net/serve.ts";
import { _hostPort } from "../net/uac/addresses.ts";
import { _firstLine, _messageText } from "./ladder.ts";
import type { MockAnswer } from "./scripted_answers.ts";

/**
 * A mock peer's expectations were not met: `assertDone()` found scripted answers not used up,
 * or, with `onUnmatched: "error"`, requests came that no scripted answer or rule answered.
 * The message lists each, a request whole; `unused` and `unmatched` hold them.
 *
 * @example
 * ```ts
 * import { MockAssertionError, mockPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using peer = await mockPeer();
 * peer.answer("BYE", 200);
 * assert.throws(() => peer.assertDone(), (e) => {
 *   assert.ok(e instanceof MockAssertionError);
 *   assert.match(e.message, /answer #1 \("BYE"\): answered 0 of 1/);
 *   assert.equal(e.unused.length, 1);
 *   return true;
 * });
 * ```
 */
export class MockAssertionError extends Error {
  #unused: readonly MockAnswer[];
  #unmatched: readonly TrafficEntry[];

  /**
   * Creates the error; the message is given whole.
   *
   * @param message What was not met.
   * @param unused The scripted answers not used up.
   * @param unmatched The requests no script answered.
   */
  constructor(message: string, unused: readonly MockAnswer[], unmatched: readonly TrafficEntry[]) {
    super(message);
    this.name = "MockAssertionError";
    this.#unused = unused;
    this.#unmatched = unmatched;
  }

  /** The scripted answers not used up, in the order given. */
  get unused(): readonly MockAnswer[] {
    return this.#unused;
  }

  /** The requests no script answered, oldest first. */
  get unmatched(): readonly TrafficEntry[] {
    return this.#unmatched;
  }
}

/** A scripted answer not used up, as listed: its name, how far it got, where the test scripted it. */
export interface _Unused {
  handle: MockAnswer;
  answered: number;
  times: number;
  site: string;
}

/**
 * The error of `where` (`assertDone()`, `waitFor(...)`, `close()`) for what was not met, or
 * `undefined` when all was.
 */
export function _unmetError(
  where: string,
  local: string,
  unused: readonly _Unused[],
  unmatched: readonly TrafficEntry[],
  start: number,
): MockAssertionError | undefined {
  if (unused.length === 0 && unmatched.length === 0) return undefined;
  const parts: string[] = [];
  if (unused.length > 0) parts.push(`${_count(unused.length, "scripted answer")} not used up`);
  if (unmatched.length > 0) {
    parts.push(`${_count(unmatched.length, "request")} no script answered (onUnmatched: "error")`);
  }
  const lines = [`${where}: ${parts.join(", ")} at ${local}:`];
  for (const u of unused) {
    lines.push(`  ${u.handle.name}: answered ${u.answered} of ${u.times}, scripted at ${u.site}`);
  }
  for (const e of unmatched) {
    const from = `${_hostPort(e.remote.address, e.remote.port)} ${e.transport}`;
    lines.push(`    ${((e.time - start) / 1000).toFixed(3)}  ${_firstLine(e.message)}  from ${from}`);
    lines.push(_messageText(e.message, "    "));
  }
  return new MockAssertionError(lines.join("\n"), unused.map((u) => u.handle), unmatched);
}

function _count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}
