/**
 * What the peer keeps of finished server transactions until their last timer (RFC 3261 §17.2.1
 * Timer I, §17.2.2 Timer J, RFC 6026 §7.1 Timer L), in a form the garbage collector hardly
 * walks: at 2,500 calls a second a UDP peer holds about 160,000 of them (two a call, 64*T1
 * each). Each one is a slot of typed arrays (expiry, state, status, duplicate, To tag, source,
 * and the key's bytes), found by its key through an open-addressing table of slot numbers: a
 * tombstone keeps no object on the heap, so the live heap, and the room a collector leaves
 * above it, do not grow with the call rate. The rare parts (a key over 64 bytes or beyond
 * Latin-1, a final response that cannot be made again from the request, a To tag not of the
 * peer's own form) sit in side maps. Expiry is
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
  /** Keys longer than KEY_BYTES or beyond Latin-1 (rare): by key, as strings. */
  readonly #slots = new Map<string, number>();
  #keys: (string | undefined)[] = [];
  /**
   * The other keys: their bytes in the slot's KEY_BYTES of #keyBytes, found through an
   * open-addressing table of slot numbers (plus one; 0 is empty) by a hash of the key.
   */
  #keyBytes = new Uint8Array(0);
  #keyLength = new Uint8Array(0);
  #hash = new Uint32Array(0);
  #buckets = new Int32Array(1024);
  #inBuckets = 0;
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
    return this.#slots.size + this.#inBuckets;
  }

  /** Whether a tombstone is held under a key. */
  has(key: string): boolean {
    return this.#find(key) >= 0;
  }

  /** The slot of a key, or -1. */
  #find(key: string): number {
    const h = _hash(key);
    if (h < 0) return this.#slots.get(key) ?? -1;
    const buckets = this.#buckets;
    const mask = buckets.length - 1;
    const length = key.length;
    for (let i = h & mask;; i = (i + 1) & mask) {
      const s = buckets[i] - 1;
      if (s < 0) return -1;
      if (this.#hash[s] === h && this.#keyLength[s] === length && this.#same(s, key)) return s;
    }
  }

  #same(slot: number, key: string): boolean {
    const bytes = this.#keyBytes;
    const at = slot * KEY_BYTES;
    for (let i = 0; i < key.length; i++) if (bytes[at + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  /** Puts a slot's key in the table: in its bytes, or in #slots when it cannot be. */
  #place(slot: number, key: string): void {
    const h = _hash(key);
    if (h < 0) {
      this.#slots.set(key, slot);
      this.#keys[slot] = key;
      return;
    }
    this.#keys[slot] = undefined;
    this.#hash[slot] = h;
    this.#keyLength[slot] = key.length;
    const at = slot * KEY_BYTES;
    for (let i = 0; i < key.length; i++) this.#keyBytes[at + i] = key.charCodeAt(i);
    if ((this.#inBuckets + 1) * 2 > this.#buckets.length) this.#rehash(this.#buckets.length * 2);
    this.#insert(slot);
    this.#inBuckets++;
  }

  #insert(slot: number): void {
    const buckets = this.#buckets;
    const mask = buckets.length - 1;
    let i = this.#hash[slot] & mask;
    while (buckets[i] !== 0) i = (i + 1) & mask;
    buckets[i] = slot + 1;
  }

  #rehash(size: number): void {
    const old = this.#buckets;
    this.#buckets = new Int32Array(size);
    for (let i = 0; i < old.length; i++) if (old[i] !== 0) this.#insert(old[i] - 1);
  }

  /** Takes a slot's key out of the table (linear probing: the entries after it move back). */
  #unplace(slot: number): void {
    const key = this.#keys[slot];
    if (key !== undefined) {
      this.#slots.delete(key);
      this.#keys[slot] = undefined;
      return;
    }
    const buckets = this.#buckets;
    const mask = buckets.length - 1;
    let i = this.#hash[slot] & mask;
    while (buckets[i] !== slot + 1) i = (i + 1) & mask;
    buckets[i] = 0;
    this.#inBuckets--;
    for (let j = (i + 1) & mask; buckets[j] !== 0; j = (j + 1) & mask) {
      const home = this.#hash[buckets[j] - 1] & mask;
      // Move the entry at j back to the hole at i unless its home lies in (i, j] (cyclically).
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!stays) {
        buckets[i] = buckets[j];
        buckets[j] = 0;
        i = j;
      }
    }
  }

  /** A slot's key, as text. */
  #keyOf(slot: number): string {
    const key = this.#keys[slot];
    if (key !== undefined) return key;
    const at = slot * KEY_BYTES;
    return String.fromCharCode(...this.#keyBytes.subarray(at, at + this.#keyLength[slot]));
  }

  /**
   * The tombstone held under a key, as a {@linkcode _Tomb}.
   *
   * @param key The transaction key.
   * @returns A new `_Tomb` with the slot's values, or undefined.
   */
  get(key: string): _Tomb | undefined {
    const slot = this.#find(key);
    return slot < 0 ? undefined : this.#tomb(slot);
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
    if (this.#find(key) >= 0) return false;
    const slot = this.#free.length > 0 ? this.#free.pop()! : this.#newSlot();
    this.#place(slot, key);
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
    const slots = [...this.#slots.values()];
    for (const b of this.#buckets) if (b !== 0) slots.push(b - 1);
    slots.sort((a, b) => this.#seq[a] - this.#seq[b]);
    return slots.map((slot) => this.#tomb(slot));
  }

  /** Forgets every tombstone. */
  clear(): void {
    this.#slots.clear();
    this.#keys = [];
    this.#buckets = new Int32Array(1024);
    this.#inBuckets = 0;
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
      this.#keyOf(slot),
      STATES[this.#state[slot]],
      this.#expires[slot],
      toTag,
      this.#duplicate[slot],
      final,
      s === 0 ? undefined : this.#sources[s - 1],
    );
  }

  #release(slot: number): SourceRecord | undefined {
    this.#unplace(slot);
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
      size = n,
    ): T => {
      const next = new make(size);
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
    this.#keyLength = grow(this.#keyLength, Uint8Array);
    this.#hash = grow(this.#hash, Uint32Array);
    this.#keyBytes = grow(this.#keyBytes, Uint8Array, n * KEY_BYTES);
  }
}

const _EMPTY = new Uint8Array(0);

/** The bytes kept of a key in its slot; a longer key is kept as a string. */
const KEY_BYTES = 64;

/**
 * FNV-1a of a key's characters, or -1 when it is not kept in bytes (longer than KEY_BYTES, or a
 * character beyond Latin-1).
 */
function _hash(key: string): number {
  if (key.length > KEY_BYTES) return -1;
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c > 0xff) return -1;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h >>> 0;
}
