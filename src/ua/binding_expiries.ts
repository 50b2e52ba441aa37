/**
 * When the bindings of a `Registrar` expire (RFC 3261 §10.3 step 7): a heap the
 * registrar looks into on each tick. Internal to src/ua.
 *
 * @module
 */

/**
 * The expiry queue of a `Registrar`: a binary min-heap of (time, address of record),
 * one entry per binding written. Entries are not taken out when their binding is refreshed or
 * removed; the registrar finds nothing to remove when such an entry comes due.
 *
 * Not the peer's `Scheduler` (scheduler.ts): an entry here is a number and a string in two arrays,
 * no object per binding, because a full registrar holds tens of thousands of them for hours.
 *
 * @example
 * ```ts
 * import { BindingExpiries } from "./binding_expiries.ts";
 * import assert from "node:assert/strict";
 *
 * const queue = new BindingExpiries();
 * queue.push(3000, "sip:bob@example.com");
 * queue.push(1000, "sip:alice@example.com");
 * assert.equal(queue.earliest(), 1000);
 * assert.equal(queue.length, 2);
 * ```
 */
export class BindingExpiries {
  #times: number[] = [];
  #aors: string[] = [];

  get length(): number {
    return this.#times.length;
  }

  /** The earliest time in the queue; Infinity if it is empty. */
  earliest(): number {
    return this.#times.length === 0 ? Infinity : this.#times[0];
  }

  push(time: number, aor: string): void {
    const times = this.#times;
    const aors = this.#aors;
    let i = times.length;
    times.push(time);
    aors.push(aor);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent] <= time) break;
      times[i] = times[parent];
      aors[i] = aors[parent];
      i = parent;
    }
    times[i] = time;
    aors[i] = aor;
  }

  /** Takes out the earliest entry (the queue must not be empty) and returns its address of record. */
  pop(): string {
    const first = this.#aors[0];
    const time = this.#times.pop()!;
    const aor = this.#aors.pop()!;
    if (this.#times.length > 0) this.#siftDown(0, time, aor);
    return first;
  }

  /** Replaces the entries, in any order, and restores the heap order (bottom-up, linear time). */
  rebuild(times: number[], aors: string[]): void {
    this.#times = times;
    this.#aors = aors;
    for (let i = (times.length >> 1) - 1; i >= 0; i--) this.#siftDown(i, times[i], aors[i]);
  }

  clear(): void {
    this.#times = [];
    this.#aors = [];
  }

  #siftDown(i: number, time: number, aor: string): void {
    const times = this.#times;
    const aors = this.#aors;
    const n = times.length;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && times[child + 1] < times[child]) child++;
      if (times[child] >= time) break;
      times[i] = times[child];
      aors[i] = aors[child];
      i = child;
    }
    times[i] = time;
    aors[i] = aor;
  }
}
