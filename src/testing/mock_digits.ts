/**
 * The DTMF digits a mock peer received ({@linkcode MockPeer.digits}), and those who wait for
 * them ({@linkcode MockPeer.waitForDigits}).
 *
 * @module
 */

import type { DtmfDigit } from "../media/telephone_event.ts";

/** Most digits a mock peer keeps, over all calls, until `clear()`; later ones are not kept. */
export const MAX_MOCK_DIGITS = 1000;

/** One digit, with its call. */
export interface _Received {
  callId: string;
  digit: DtmfDigit;
}

interface _DigitWaiter {
  callId: string | undefined;
  count: number;
  resolve: (digits: string) => void;
  reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** The digits received and the waits for them. */
export class _DigitLog {
  #digits: _Received[] = [];
  #waiters = new Set<_DigitWaiter>();

  /** A digit came (a `dtmf` event). */
  add(callId: string, digit: DtmfDigit): void {
    if (this.#digits.length >= MAX_MOCK_DIGITS) return;
    this.#digits.push({ callId, digit });
    for (const w of [...this.#waiters]) {
      const digits = this.digits(w.callId);
      if (digits.length >= w.count) {
        this.#waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(digits);
      }
    }
  }

  /** The keys received, in order, of one call or all. */
  digits(callId?: string): string {
    return this.list(callId).map((r) => r.digit.digit).join("");
  }

  /** The digits received, of one call or all. */
  list(callId?: string): _Received[] {
    return this.#digits.filter((r) => callId === undefined || r.callId === callId);
  }

  /** Resolves with the keys once `count` have come; rejects with `timeout()` after `limit` ms. */
  wait(count: number, callId: string | undefined, limit: number, timeout: (have: string) => unknown): Promise<string> {
    const have = this.digits(callId);
    if (have.length >= count) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const waiter: _DigitWaiter = {
        callId,
        count,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(timeout(this.digits(callId)));
        }, limit),
      };
      this.#waiters.add(waiter);
    });
  }

  /** Forgets the digits. */
  clear(): void {
    this.#digits = [];
  }

  /** Rejects whoever waits. */
  abandon(why: string): void {
    for (const w of this.#waiters) {
      clearTimeout(w.timer);
      w.reject(new Error(why));
    }
    this.#waiters.clear();
  }
}
