/**
 * The check that a method to match is written in upper case: methods are case-sensitive
 * (RFC 3261 §7.1), so `"invite"` is a legal extension method that no INVITE will ever match,
 * which is almost always a typo. Shared by the rules loader and the mock peer's patterns.
 *
 * @module
 */

/**
 * @internal What is wrong with a method to match, if it has a lower-case letter: the problem
 * with the upper-case spelling to use instead. Extension methods in upper case pass.
 *
 * @param method The method as written (already known to be a token).
 * @param onPurpose How to match a lower-case method when it is meant, for the hint.
 * @returns The problem, or `undefined` when the method is upper case.
 *
 * @example
 * ```ts
 * import { _methodCaseProblem } from "./method_case.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(_methodCaseProblem("X-PING", "match the CSeq header"), undefined);
 * assert.equal(
 *   _methodCaseProblem("invite", "match the CSeq header"),
 *   'must be upper case: methods are case-sensitive (RFC 3261 §7.1), so "invite" matches no INVITE; ' +
 *     'did you mean "INVITE"? (to match a lower-case method on purpose, match the CSeq header)',
 * );
 * ```
 */
export function _methodCaseProblem(method: string, onPurpose: string): string | undefined {
  const upper = method.toUpperCase();
  if (method === upper) return undefined;
  return `must be upper case: methods are case-sensitive (RFC 3261 §7.1), so ${JSON.stringify(method)} matches ` +
    `no ${upper}; did you mean ${JSON.stringify(upper)}? (to match a lower-case method on purpose, ${onPurpose})`;
}
