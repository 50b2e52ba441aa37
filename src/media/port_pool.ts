/**
 * Which port pair a stream gets: the free pairs of the range, and the pool of pairs still bound
 * from ended calls.
 *
 * @module
 */

// A pair left unused this long is closed: the pool is for a steady flow of calls.
const POOL_IDLE = 5_000;

/**
 * The port pairs of a range (RFC 3550 §11: RTP on an even port, RTCP on the odd one after it)
 * and the pool of pairs kept bound between calls.
 *
 * A stream takes a pair that is still bound if there is one, the one back longest; else the
 * pair released longest ago, so that a late packet of an old call rarely lands on a new one.
 * A pooled pair left unused for 5 s is closed (by `close`), and so is every pooled pair on
 * {@linkcode _PortPool.closeBound}.
 *
 * @typeParam P What a bound pair is (its sockets); the pool only keeps it and hands it to `close`.
 */
export class _PortPool<P> {
  /** How many pairs the range holds. */
  readonly capacity: number;
  /** Free RTP ports (even), least recently released first: a Set keeps insertion order. */
  #free = new Set<number>();
  /** The free pairs still bound (a subset of #free), by RTP port, least recently released first. */
  #bound = new Map<number, { pair: P; since: number }>();
  #size: number;
  #close: (pair: P) => void;
  /** The timer that closes pairs idle for POOL_IDLE ms. */
  #sweep: ReturnType<typeof setTimeout> | undefined;

  /**
   * Makes the pool with every pair of the range free and none bound.
   *
   * @param portRange The ports, both included.
   * @param size Most pairs kept bound.
   * @param close Closes a bound pair that leaves the pool unused.
   */
  constructor(portRange: readonly [number, number], size: number, close: (pair: P) => void) {
    const [low, high] = portRange;
    for (let port = low % 2 === 0 ? low : low + 1; port + 1 <= high; port += 2) this.#free.add(port);
    this.capacity = this.#free.size;
    this.#size = size;
    this.#close = close;
  }

  /** How many pairs are free. */
  get available(): number {
    return this.#free.size;
  }

  /** Whether the pool has room for one more bound pair. */
  get hasRoom(): boolean {
    return this.#bound.size < this.#size;
  }

  /**
   * Takes a free pair: one still bound if there is one ({@linkcode _PortPool.takeBound} then
   * gives its sockets), the one back longest; else the one released longest ago.
   *
   * @returns Its RTP port, or `undefined` when none is free.
   */
  take(): number | undefined {
    // open() takes all its pairs before binding any: a pooled pair taken already is no longer in #free.
    for (const port of this.#bound.keys()) if (this.#free.delete(port)) return port;
    for (const port of this.#free) {
      this.#free.delete(port);
      return port;
    }
    return undefined;
  }

  /**
   * The bound sockets of a pair just taken, out of the pool.
   *
   * @param port Its RTP port.
   * @returns The bound pair, or `undefined` if it waits unbound.
   */
  takeBound(port: number): P | undefined {
    const entry = this.#bound.get(port);
    if (entry === undefined) return undefined;
    this.#bound.delete(port);
    return entry.pair;
  }

  /**
   * Gives a pair back, at the end of the free list; with `pair`, still bound, into the pool
   * (the caller checks {@linkcode _PortPool.hasRoom}).
   *
   * @param port Its RTP port.
   * @param pair Its sockets, when they stay bound.
   */
  release(port: number, pair?: P): void {
    this.#free.add(port);
    if (pair === undefined) return;
    this.#bound.set(port, { pair, since: performance.now() });
    this.#sweep ??= setTimeout(() => this.#sweepIdle(), POOL_IDLE);
  }

  /** Closes every pooled pair; the ports stay free. */
  closeBound(): void {
    this.#closeIdle(Infinity);
  }

  /** Closes the pairs idle for POOL_IDLE ms, and waits for the next one to be. */
  #sweepIdle(): void {
    this.#sweep = undefined;
    const now = performance.now();
    this.#closeIdle(now - POOL_IDLE);
    for (const entry of this.#bound.values()) {
      this.#sweep = setTimeout(() => this.#sweepIdle(), Math.max(1, Math.ceil(entry.since + POOL_IDLE - now)));
      break;
    }
  }

  /** Closes the pooled pairs back since before `before` (performance.now() time; Infinity: all). */
  #closeIdle(before: number): void {
    for (const [port, entry] of this.#bound) {
      if (entry.since >= before) break;
      this.#bound.delete(port);
      this.#close(entry.pair);
    }
    if (this.#bound.size === 0) {
      clearTimeout(this.#sweep);
      this.#sweep = undefined;
    }
  }
}
