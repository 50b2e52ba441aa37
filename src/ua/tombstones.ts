/**
 * What the peer keeps of finished server transactions until their last timer (RFC 3261 §17.2.1
 * Timer I, §17.2.2 Timer J, RFC 6026 §7.1 Timer L), in a form the garbage collector hardly
 * walks: at 2,500 calls a second a UDP peer holds about 160,000 of them (two a call, 64*T1
 * each). Each one is a slot of typed arrays (expiry, state, status, duplicate, To tag, source),
 * found by its key through one `Map` from key to slot number; the key string is the only object
 * a tombstone keeps on the heap. The rare parts (a final response that cannot be made again
 * from the request, a To tag not of the peer's own form) sit in side maps by slot. Expiry is
 * kept in two queues of slot numbers ordered by expiry: one for 64*T1 (J, L) and one for T4 (I).
 * Internal to src/ua.
 *
 * @module
 */

import { _Reply, _Tomb } from "./context.ts";
import type { SourceRecord } from "./guard.ts";

type _TombState = _Tomb["state"];

const STATES: readonly _TombState[] = ["Completed", "Confirmed", "Accepted"];
const STATE_CODE: Readonly<Record<_TombState, number>> = { Completed: 0, Confirmed: 1, Accepted: 2 };
/** The To tags the peer makes: 8 lower-case hex digits, kept as a number. */
const HEX8 = /^[0-9a-f]{8}$/;
/** `tagKind` values. */
const TAG_NONE = 0, TAG_HEX = 1, TAG_OTHER = 2;

/** Slot numbers ordered by the expiry of their slot (a ring; entries come nearly in order). */
class _SlotQueue {
  #ring = new Int32Array(1024);
  #head = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The first slot, or -1. */
  peek(): number {
    return this.#size === 0 ? -1 : this.#ring[this.#head];
  }

  shift(): number {
    const slot = this.#ring[this.#head];
    this.#head = (this.#head + 1) & (this.#ring.length - 1);
    this.#size--;
    return slot;
  }

  /** Adds a slot in expiry order: from the back, past the few that expire later. */
  push(slot: number, expires: Float64Array): void {
    if (this.#size === this.#ring.length) this.#grow();
    const ring = this.#ring;
    const mask = ring.length - 1;
    const at = expires[slot];
    let i = this.#size;
    // Equal expiries keep their order of arrival.
    while (i > 0) {
      const prev = ring[(this.#head + i - 1) & mask];
      if (expires[prev] <= at) break;
      ring[(this.#head + i) & mask] = prev;
      i--;
    }
    ring[(this.#head + i) & mask] = slot;
    this.#size++;
  }

  clear(): void {
    this.#head = 0;
    this.#size = 0;
  }

  #grow(): void {
    const old = this.#ring;
    const next = new Int32Array(old.length * 2);
    for (let i = 0; i < this.#size; i++) next[i] = old[(this.#head + i) & (old.length - 1)];
    this.#ring = next;
    this.#head = 0;
  }
}

/**
 * The tombstones of finished transactions, by key (see the module documentation). A slot is
 * handed out as a {@linkcode _Tomb} only when a request or ACK matches it.
 */
export class _Tombstones {
  readonly #slots = new Map<string, number>();
  #keys: (string | undefined)[] = [];
  #expires = new Float64Array(0);
  /** Order of burial, for `values()` (oldest first). */
  #seq = new Float64Array(0);
  #state = new Uint8Array(0);
  #status = new Uint16Array(0);
  #duplicate = new Uint32Array(0);
  #tagKind = new Uint8Array(0);
  #tag = new Uint32Array(0);
  /** Index into #sources plus one; 0 for none. */
  #source = new Int32Array(0);
  #free: number[] = [];
  #used = 0;
  #buried = 0;
  readonly #otherTags = new Map<number, string>();
  readonly #data = new Map<number, Uint8Array>();
  /** The source records tombstones count against, with how many do (few sources, many tombstones). */
  #sources: (SourceRecord | undefined)[] = [];
  #sourceRefs: number[] = [];
  #freeSources: number[] = [];
  readonly #sourceIndex = new Map<SourceRecord, number>();
  readonly #long = new _SlotQueue();
  readonly #short = new _SlotQueue();

  /** How many tombstones are held. */
  get size(): number {
    return this.#slots.size;
  }

  /** Whether a tombstone is held under a key. */
  has(key: string): boolean {
    return this.#slots.has(key);
  }

  /**
   * The tombstone held under a key, as a {@linkcode _Tomb}.
   *
   * @param key The transaction key.
   * @returns A new `_Tomb` with the slot's values, or undefined.
   */
  get(key: string): _Tomb | undefined {
    const slot = this.#slots.get(key);
    return slot === undefined ? undefined : this.#tomb(slot);
  }

  /**
   * Keeps a tombstone until `expires`. `short` puts it in the queue of Timer I (T4), otherwise
   * in the one of Timers J and L (64*T1): each queue's entries come nearly in expiry order.
   *
   * @returns False (nothing kept) when the key is held already.
   */
  add(
    key: string,
    state: _TombState,
    expires: number,
    toTag: string | undefined,
    duplicate: number,
    final: _Reply | undefined,
    source: SourceRecord | undefined,
    short: boolean,
  ): boolean {
    if (this.#slots.has(key)) return false;
    const slot = this.#free.length > 0 ? this.#free.pop()! : this.#newSlot();
    this.#slots.set(key, slot);
    this.#keys[slot] = key;
    this.#expires[slot] = expires;
    this.#seq[slot] = this.#buried++;
    this.#state[slot] = STATE_CODE[state];
    this.#status[slot] = final === undefined ? 0 : final.status;
    this.#duplicate[slot] = duplicate;
    if (toTag === undefined) this.#tagKind[slot] = TAG_NONE;
    else if (HEX8.test(toTag)) {
      this.#tagKind[slot] = TAG_HEX;
      this.#tag[slot] = parseInt(toTag, 16);
    } else {
      this.#tagKind[slot] = TAG_OTHER;
      this.#otherTags.set(slot, toTag);
    }
    // A copy: the bytes are a view of a shared chunk (see ResponseHead.format).
    if (final !== undefined && !final.plain) this.#data.set(slot, final.data.slice());
    this.#source[slot] = source === undefined ? 0 : this.#holdSource(source) + 1;
    (short ? this.#short : this.#long).push(slot, this.#expires);
    return true;
  }

  /** The earliest expiry, ms; -1 when there is none. */
  get nextExpiry(): number {
    const long = this.#long.peek();
    const short = this.#short.peek();
    if (long < 0) return short < 0 ? -1 : this.#expires[short];
    if (short < 0) return this.#expires[long];
    return Math.min(this.#expires[long], this.#expires[short]);
  }

  /**
   * Forgets the tombstone that expires at `at`, if it is the earliest.
   *
   * @returns The source it counted against, if any (its share is given back by the caller), or
   *   null when nothing expired.
   */
  expire(at: number): SourceRecord | undefined | null {
    const long = this.#long.peek();
    const short = this.#short.peek();
    let slot: number;
    if (long >= 0 && this.#expires[long] === at) slot = this.#long.shift();
    else if (short >= 0 && this.#expires[short] === at) slot = this.#short.shift();
    else return null;
    return this.#release(slot);
  }

  /** The tombstones, oldest first, as `_Tomb`s. */
  values(): _Tomb[] {
    const slots = [...this.#slots.values()].sort((a, b) => this.#seq[a] - this.#seq[b]);
    return slots.map((slot) => this.#tomb(slot));
  }

  /** Forgets every tombstone. */
  clear(): void {
    this.#slots.clear();
    this.#keys = [];
    this.#free = [];
    this.#used = 0;
    this.#otherTags.clear();
    this.#data.clear();
    this.#sources = [];
    this.#sourceRefs = [];
    this.#freeSources = [];
    this.#sourceIndex.clear();
    this.#long.clear();
    this.#short.clear();
  }

  #tomb(slot: number): _Tomb {
    const kind = this.#tagKind[slot];
    const toTag = kind === TAG_NONE
      ? undefined
      : kind === TAG_HEX
      ? this.#tag[slot].toString(16).padStart(8, "0")
      : this.#otherTags.get(slot);
    const status = this.#status[slot];
    const data = this.#data.get(slot);
    // A plain final is made again from the request; one with its bytes is handed over as is.
    const final = status === 0 ? undefined : new _Reply(status, data ?? _EMPTY, data === undefined);
    const s = this.#source[slot];
    return new _Tomb(
      this.#keys[slot]!,
      STATES[this.#state[slot]],
      this.#expires[slot],
      toTag,
      this.#duplicate[slot],
      final,
      s === 0 ? undefined : this.#sources[s - 1],
    );
  }

  #release(slot: number): SourceRecord | undefined {
    const key = this.#keys[slot]!;
    this.#slots.delete(key);
    this.#keys[slot] = undefined;
    if (this.#tagKind[slot] === TAG_OTHER) this.#otherTags.delete(slot);
    if (this.#status[slot] !== 0) this.#data.delete(slot);
    const s = this.#source[slot];
    this.#free.push(slot);
    if (s === 0) return undefined;
    const source = this.#sources[s - 1]!;
    if (--this.#sourceRefs[s - 1] === 0) {
      this.#sources[s - 1] = undefined;
      this.#sourceIndex.delete(source);
      this.#freeSources.push(s - 1);
    }
    return source;
  }

  #holdSource(source: SourceRecord): number {
    let i = this.#sourceIndex.get(source);
    if (i === undefined) {
      i = this.#freeSources.length > 0 ? this.#freeSources.pop()! : this.#sources.length;
      this.#sources[i] = source;
      this.#sourceRefs[i] = 0;
      this.#sourceIndex.set(source, i);
    }
    this.#sourceRefs[i]++;
    return i;
  }

  #newSlot(): number {
    const slot = this.#used++;
    if (slot >= this.#expires.length) this.#grow(Math.max(1024, this.#expires.length * 2));
    return slot;
  }

  #grow(n: number): void {
    const grow = <T extends Float64Array | Uint8Array | Uint16Array | Uint32Array | Int32Array>(
      old: T,
      make: new (n: number) => T,
    ): T => {
      const next = new make(n);
      next.set(old);
      return next;
    };
    this.#expires = grow(this.#expires, Float64Array);
    this.#seq = grow(this.#seq, Float64Array);
    this.#state = grow(this.#state, Uint8Array);
    this.#status = grow(this.#status, Uint16Array);
    this.#duplicate = grow(this.#duplicate, Uint32Array);
    this.#tagKind = grow(this.#tagKind, Uint8Array);
    this.#tag = grow(this.#tag, Uint32Array);
    this.#source = grow(this.#source, Int32Array);
  }
}

const _EMPTY = new Uint8Array(0);
