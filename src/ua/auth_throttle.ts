/**
 * Throttling failed digest authentications per source: a bounded table of counters, so that a
 * password guesser gets a few tries a minute, not thousands. Pure: the caller gives the time.
 *
 * @module
 */

/**
 * The limits of an {@linkcode AuthThrottle}.
 *
 * @example
 * ```ts
 * import { type AuthThrottleLimits, DEFAULT_AUTH_THROTTLE } from "./auth_throttle.ts";
 * const strict: AuthThrottleLimits = { ...DEFAULT_AUTH_THROTTLE, failures: 3 };
 * ```
 */
export interface AuthThrottleLimits {
  /** Failures within `window` that block a source (default 10). */
  failures: number;
  /** The window failures are counted in, and how long a block lasts, ms (default 60,000). */
  window: number;
  /** Most sources counted at once (default 4096); past it the oldest record is forgotten. */
  sources: number;
}

/**
 * The limits by default: 10 failures a minute, then a minute of 403; 4096 sources counted.
 *
 * @example
 * ```ts
 * import { DEFAULT_AUTH_THROTTLE } from "./auth_throttle.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(DEFAULT_AUTH_THROTTLE, { failures: 10, window: 60_000, sources: 4096 });
 * ```
 */
export const DEFAULT_AUTH_THROTTLE: Readonly<AuthThrottleLimits> = Object.freeze({
  failures: 10,
  window: 60_000,
  sources: 4096,
});

interface _Count {
  count: number;
  since: number;
  until: number;
}

/**
 * Counts failed authentications per source key (an address, or an IPv6 /64 as `sourceKey`
 * writes it). `failures` failures within `window` ms block the source for `window` ms from the
 * last one; a success forgets its count. At most `sources` records: a new source past that
 * evicts the one that failed first (Map order), so memory stays bounded under a spray of
 * addresses, at the cost of forgetting the oldest.
 *
 * @example
 * ```ts
 * import { AuthThrottle } from "./auth_throttle.ts";
 * import assert from "node:assert/strict";
 *
 * const throttle = new AuthThrottle({ failures: 2, window: 1000 });
 * assert.equal(throttle.fail("192.0.2.9", 0), false);
 * assert.equal(throttle.fail("192.0.2.9", 10), true); // the second failure blocks it
 * assert.equal(throttle.blocked("192.0.2.9", 500), true);
 * assert.equal(throttle.blocked("192.0.2.9", 1010), false);
 * ```
 */
export class AuthThrottle {
  /** The limits in force. */
  readonly limits: Readonly<AuthThrottleLimits>;
  #counts = new Map<string, _Count>();

  /**
   * Makes a throttle that counts nothing yet.
   *
   * @param limits Failures, window, sources; the rest from {@linkcode DEFAULT_AUTH_THROTTLE}.
   * @throws {RangeError} If failures or sources is not a positive integer, or window not positive.
   */
  constructor(limits: Partial<AuthThrottleLimits> = {}) {
    const l = { ...DEFAULT_AUTH_THROTTLE, ...limits };
    for (const name of ["failures", "sources"] as const) {
      if (!(Number.isInteger(l[name]) && l[name] > 0) && l[name] !== Infinity) {
        throw new RangeError(`auth throttle: ${name} must be a positive integer, got ${l[name]}`);
      }
    }
    if (!(l.window > 0)) throw new RangeError(`auth throttle: window must be a positive number of ms, got ${l.window}`);
    this.limits = Object.freeze(l);
  }

  /** How many sources are counted. */
  get size(): number {
    return this.#counts.size;
  }

  /**
   * Whether a source is blocked now.
   *
   * @param key The source.
   * @param now The time, ms.
   * @returns True while its block lasts.
   */
  blocked(key: string, now: number): boolean {
    const c = this.#counts.get(key);
    return c !== undefined && c.until > now;
  }

  /**
   * Counts a failure.
   *
   * @param key The source.
   * @param now The time, ms.
   * @returns True when this failure blocks the source.
   */
  fail(key: string, now: number): boolean {
    let c = this.#counts.get(key);
    if (c === undefined) {
      if (this.#counts.size >= this.limits.sources) this.#counts.delete(this.#counts.keys().next().value!);
      c = { count: 0, since: now, until: 0 };
      this.#counts.set(key, c);
    } else if (now - c.since >= this.limits.window && c.until <= now) {
      c.count = 0;
      c.since = now;
    }
    c.count++;
    if (c.count < this.limits.failures) return false;
    const starts = c.until <= now;
    c.until = now + this.limits.window;
    return starts;
  }

  /**
   * Forgets a source's failures: it authenticated.
   *
   * @param key The source.
   */
  succeed(key: string): void {
    this.#counts.delete(key);
  }
}
