/**
 * The clock of the server's parts: the time they run on ({@linkcode _now}) and the delays they
 * give `setTimeout` ({@linkcode _delay}).
 *
 * @module
 */

/** setTimeout takes a signed 32-bit delay; a longer one fires at once. */
const MAX_DELAY = 0x7fffffff;

/** The server's time, ms: monotonic, the time base of the peer and of the connection deadlines. */
export function _now(): number {
  return performance.now();
}

/** A setTimeout delay for `ms` from now: whole, 0 or more, and not over {@linkcode MAX_DELAY}. */
export function _delay(ms: number): number {
  return Math.min(Math.max(0, Math.ceil(ms)), MAX_DELAY);
}
