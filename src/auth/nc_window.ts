/**
 * The nonce counts seen, for refusing replays (RFC 7616 §3.4: the server should check that nc
 * is greater than any it has seen with the same nonce). Nonces themselves need no table
 * ({@linkcode openNonce}); their counts do, so this one is bounded.
 *
 * @module
 */

/**
 * What {@linkcode NonceCountWindow.accept} decided: `ok` (recorded), `replay` (nc not above the
 * highest seen for the nonce), or `forgotten` (the nonce may have been evicted, so its counts
 * are unknown; the caller should ask for a fresh nonce, as for a stale one).
 *
 * @example
 * ```ts
 * import type { NonceCountCheck } from "./nc_window.ts";
 * const check: NonceCountCheck = "replay";
 * ```
 */
export type NonceCountCheck = "ok" | "replay" | "forgotten";

/**
 * The default number of nonces whose counts are kept: 4096 entries, some 100 bytes each.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_NONCES } from "./nc_window.ts";
 * import assert from "node:assert/strict";
 * assert.equal(DEFAULT_MAX_NONCES, 4096);
 * ```
 */
export const DEFAULT_MAX_NONCES = 4096;

/**
 * The highest nc seen for each of the most recently used nonces, at most `limit` of them.
 *
 * When full, the least recently used nonce is evicted, and the window remembers the latest
 * issue time of any nonce it evicted (its floor). A nonce it holds no count for, issued at or
 * before the floor, may be one it evicted, whose counts could be replayed: it is `forgotten`,
 * not accepted. A nonce issued after the floor was never evicted, so it is new. The cost of
 * the floor is that an unused nonce older than it is refused once, and the client retries with
 * a fresh one. Only correct responses are recorded (the caller's part), so filling the window
 * takes valid credentials.
 *
 * @example
 * ```ts
 * import { NonceCountWindow } from "./nc_window.ts";
 * import assert from "node:assert/strict";
 *
 * const window = new NonceCountWindow(2);
 * assert.equal(window.accept("a", 100, 1), "ok");
 * assert.equal(window.accept("a", 100, 1), "replay");
 * assert.equal(window.accept("a", 100, 2), "ok");
 * assert.equal(window.accept("b", 200, 1), "ok");
 * assert.equal(window.accept("c", 300, 1), "ok"); // evicts "a", the least recently used
 * assert.equal(window.floor, 100);
 * assert.equal(window.accept("a", 100, 3), "forgotten");
 * ```
 */
export class NonceCountWindow {
  /** The most nonces kept. */
  readonly limit: number;
  #floor = -Infinity;
  // Map iteration order is insertion order: re-inserting on use keeps the least recent first.
  readonly #entries = new Map<string, { issued: number; nc: number }>();

  /**
   * Makes an empty window.
   *
   * @param limit The most nonces kept, at least 1 ({@linkcode DEFAULT_MAX_NONCES}).
   * @throws {RangeError} If the limit is not a positive integer.
   */
  constructor(limit: number = DEFAULT_MAX_NONCES) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`NonceCountWindow: limit ${limit} is not a positive integer`);
    }
    this.limit = limit;
  }

  /** The number of nonces kept now. */
  get size(): number {
    return this.#entries.size;
  }

  /** The latest issue time of an evicted nonce; -Infinity before the first eviction. */
  get floor(): number {
    return this.#floor;
  }

  /**
   * Checks a nonce count and records it if it is new: call it only for a correct response.
   *
   * @param nonce The nonce.
   * @param issued Its issue time (from the nonce), in the unit the caller uses.
   * @param nc The nonce count; 0 for a response without qop, which may then be used once.
   * @returns `ok`, `replay` or `forgotten` ({@linkcode NonceCountCheck}).
   */
  accept(nonce: string, issued: number, nc: number): NonceCountCheck {
    const entry = this.#entries.get(nonce);
    if (entry !== undefined) {
      if (nc <= entry.nc) return "replay";
      entry.nc = nc;
      this.#entries.delete(nonce);
      this.#entries.set(nonce, entry);
      return "ok";
    }
    if (issued <= this.#floor) return "forgotten";
    this.#entries.set(nonce, { issued, nc });
    if (this.#entries.size > this.limit) {
      const [oldest, evicted] = this.#entries.entries().next().value!;
      this.#entries.delete(oldest);
      if (evicted.issued > this.#floor) this.#floor = evicted.issued;
    }
    return "ok";
  }
}
