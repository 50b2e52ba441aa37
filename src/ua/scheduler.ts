/**
 * The peer's clock work: jobs due at a time (a delayed response, a transaction's next timer,
 * Timer C, the look for idle dialogs) in a binary heap, earliest first, ties in the order
 * they were made. No timer of its own: the caller runs what is due when it is given the time.
 * Internal to src/ua.
 *
 * @module
 */

/**
 * Something to do at a time. Cancelling drops the function, so that a cancelled job waiting
 * in the heap holds nothing (no transaction) until it comes out.
 */
export class Job {
  readonly at: number;
  readonly seq: number;
  cancelled = false;
  run: ((at: number) => void) | undefined;

  constructor(at: number, seq: number, run: (at: number) => void) {
    this.at = at;
    this.seq = seq;
    this.run = run;
  }

  cancel(): void {
    this.cancelled = true;
    this.run = undefined;
  }
}

/** Jobs in a binary heap by time, then by the order they were made. */
export class Scheduler {
  #heap: Job[] = [];
  #seq = 0;

  /** Adds a job at `at`. */
  schedule(at: number, run: (at: number) => void): Job {
    const job = new Job(at, this.#seq++, run);
    const heap = this.#heap;
    heap.push(job);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!_before(job, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = job;
    return job;
  }

  /** The time of the earliest job still wanted, or -1 (cancelled jobs at the top are dropped). */
  get next(): number {
    const heap = this.#heap;
    while (heap.length > 0 && heap[0].cancelled) this.#pop();
    return heap.length > 0 ? heap[0].at : -1;
  }

  /** Takes the earliest job out and runs it (call when `next` is due). */
  runNext(): void {
    const top = this.#heap[0];
    this.#pop();
    const run = top.run;
    top.cancel();
    run?.(top.at);
  }

  /** Drops every job. */
  clear(): void {
    this.#heap = [];
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop() as Job;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let best = last;
      if (l < heap.length && _before(heap[l], best)) {
        m = l;
        best = heap[l];
      }
      if (r < heap.length && _before(heap[r], best)) m = r;
      if (m === i) break;
      heap[i] = heap[m];
      i = m;
    }
    heap[i] = last;
  }
}

function _before(a: Job, b: Job): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
