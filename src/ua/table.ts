/**
 * The bounded table behind the peer's tables of transactions and dialogs: values by key, oldest
 * first, never more than a limit, so that a full table makes its owner answer 503 (RFC 3261
 * §21.5.4) instead of growing without bound.
 *
 * @module
 */

/**
 * Values by key in the order they were added, at most `limit` of them: {@linkcode add} refuses
 * a value when the table is full. The key of a value is read from it with `keyOf`.
 *
 * @typeParam K The key.
 * @typeParam V The value.
 * @example
 * ```ts
 * import { BoundedTable } from "./table.ts";
 * import assert from "node:assert/strict";
 *
 * const table = new BoundedTable(2, (entry: { id: string }) => entry.id);
 * const a = { id: "a" };
 * assert.equal(table.add(a), true);
 * assert.equal(table.add({ id: "b" }), true);
 * assert.equal(table.add({ id: "c" }), false); // full
 * assert.equal(table.delete(a), true);
 * assert.deepEqual(table.values().map((e) => e.id), ["b"]);
 * ```
 */
export class BoundedTable<K, V> {
  /** The most values held. */
  readonly limit: number;
  readonly #map = new Map<K, V>();
  readonly #keyOf: (value: V) => K;

  /**
   * Makes an empty table.
   *
   * @param limit The most values held.
   * @param keyOf The key of a value.
   */
  constructor(limit: number, keyOf: (value: V) => K) {
    this.limit = limit;
    this.#keyOf = keyOf;
  }

  /** The number of values held. */
  get size(): number {
    return this.#map.size;
  }

  /**
   * The value held under a key.
   *
   * @param key The key.
   * @returns The value, or undefined.
   */
  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  /**
   * Adds a value unless the table is full; a value held under the same key is replaced, in its
   * place.
   *
   * @param value The value.
   * @returns False (and nothing changed) when the table is full, even if the key is held.
   */
  add(value: V): boolean {
    if (this.#map.size >= this.limit) return false;
    this.#map.set(this.#keyOf(value), value);
    return true;
  }

  /**
   * Puts `next` in the place of `held` (same key, same age), if `held` is the value held under
   * its key: how an owner swaps a finished entry for the little it keeps of it.
   *
   * @param held The value held.
   * @param next What replaces it; its key must be the same.
   * @returns False (and nothing changed) if `held` is not held or the keys differ.
   */
  replace(held: V, next: V): boolean {
    const key = this.#keyOf(held);
    if (this.#keyOf(next) !== key || this.#map.get(key) !== held) return false;
    this.#map.set(key, next);
    return true;
  }

  /**
   * Removes a value if it is the one held under its key.
   *
   * @param value The value.
   * @returns Whether it was removed.
   */
  delete(value: V): boolean {
    const key = this.#keyOf(value);
    if (this.#map.get(key) !== value) return false;
    this.#map.delete(key);
    return true;
  }

  /** Removes every value. */
  clear(): void {
    this.#map.clear();
  }

  /**
   * The values, oldest first.
   *
   * @returns A new array.
   */
  values(): V[] {
    return [...this.#map.values()];
  }
}
