/**
 * What keeps one source on the internet from hurting the others: per-source accounting for a
 * peer on a public address. Pure: it holds counters and answers questions, the peer and
 * `serve()` act on the answers.
 *
 * - **Address validation and the anti-amplification limit**, after QUIC (RFC 9000 §8.1): a UDP
 *   source that has not shown that it receives our packets is sent at most `amplification`
 *   times the bytes it sent us, so a spoofed source address cannot turn the peer into a
 *   reflector. A source shows it by acknowledging a response (an ACK carrying our To tag), by a
 *   request inside a dialog we made, by answering a request of ours, or by using a connection.
 * - **A rate limit per source**, in the spirit of Kamailio's `pike`: more than `rate` messages a
 *   second on average (with `burst` at once) and the source is answered 503 once, then ignored
 *   for `ban` ms.
 * - **Fair shares**: no source may hold more than `share` of any table (transactions, dialogs,
 *   RTP streams, bindings, connections), so that one host cannot fill a table and lock the others
 *   out.
 * - **Log throttling**: a flood makes one log line per source per few seconds, not one per packet.
 *
 * A source is an IPv4 address, or an IPv6 /64 (`ipv6Prefix`): one host usually has a whole /64.
 *
 * @module
 */

import { formatIpv6, parseIpv6 } from "../sip/ip.ts";

/**
 * The edge limits of a {@linkcode SourceGuard}. `Infinity` turns a limit off.
 *
 * @example
 * ```ts
 * import { EDGE_LAB, EDGE_PUBLIC, SourceGuard } from "./guard.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(EDGE_PUBLIC.amplification, 3);
 * assert.equal(EDGE_LAB.rate, Infinity);
 * const guard = new SourceGuard({ ...EDGE_PUBLIC, rate: 50 });
 * assert.equal(guard.options.rate, 50);
 * ```
 */
export interface EdgeOptions {
  /**
   * A UDP source not validated yet is sent at most this many times the bytes received from it
   * (RFC 9000 §8.1 uses 3). Default 3.
   */
  amplification: number;
  /** How long a source stays validated once it has shown it receives our packets, ms (default 600,000). */
  validation: number;
  /** Messages a source may send per second, on average (default 100). */
  rate: number;
  /** Messages a source may send at once, above the average (default 200). */
  burst: number;
  /** How long a source over the rate is ignored, ms (default 10,000). */
  ban: number;
  /** The share of each table one source may hold, more than 0 and at most 1 (default 0.1). */
  share: number;
  /** Length of the IPv6 prefix that counts as one source, bits (default 64). */
  ipv6Prefix: number;
  /**
   * Most sources tracked at once (default 32,768). Past it, sources that hold nothing and were
   * quiet for a minute are forgotten; new ones meanwhile share one record (its rate limit and
   * budget together).
   */
  sources: number;
  /** Log lines let through per source per `logWindow` (default 5); more are counted, then summed up. */
  logBurst: number;
  /** Log lines let through in all per `logWindow` (default 100). */
  logTotal: number;
  /** The window of the log limits, ms (default 10,000). */
  logWindow: number;
}

/**
 * The limits for a peer on a public address (the default of `serve()` and of the command line).
 *
 * @example
 * ```ts
 * import { EDGE_PUBLIC } from "./guard.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(EDGE_PUBLIC.share, 0.1);
 * assert.equal(EDGE_PUBLIC.ban, 10_000);
 * ```
 */
export const EDGE_PUBLIC: Readonly<EdgeOptions> = Object.freeze({
  amplification: 3,
  validation: 600_000,
  rate: 100,
  burst: 200,
  ban: 10_000,
  share: 0.1,
  ipv6Prefix: 64,
  sources: 32_768,
  logBurst: 5,
  logTotal: 100,
  logWindow: 10_000,
});

/**
 * The limits for a lab (`--profile lab`): a load generator or a test suite on a known network.
 * No amplification limit, no rate limit, one source may fill any table, every log line kept.
 *
 * @example
 * ```ts
 * import { EDGE_LAB } from "./guard.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(EDGE_LAB.amplification, Infinity);
 * assert.equal(EDGE_LAB.share, 1);
 * ```
 */
export const EDGE_LAB: Readonly<EdgeOptions> = Object.freeze({
  ...EDGE_PUBLIC,
  amplification: Infinity,
  rate: Infinity,
  burst: Infinity,
  share: 1,
  logBurst: Infinity,
  logTotal: Infinity,
});

/**
 * The tables a source holds a share of.
 *
 * @example
 * ```ts
 * import { type SourceTable, SourceGuard } from "./guard.ts";
 * import assert from "node:assert/strict";
 *
 * const table: SourceTable = "dialogs";
 * const guard = new SourceGuard();
 * assert.equal(guard.source("192.0.2.9", 0).held[table], 0);
 * ```
 */
export type SourceTable = "transactions" | "pending" | "dialogs" | "streams" | "connections";

/**
 * What the guard says of a message from a source: take it, answer it with 503 (it just went
 * over the rate: the source is told once), or drop it unread (the source is banned).
 *
 * @example
 * ```ts
 * import { Admission, SourceGuard } from "./guard.ts";
 * import assert from "node:assert/strict";
 *
 * const guard = new SourceGuard({ rate: 1, burst: 1 });
 * const source = guard.source("192.0.2.9", 0);
 * assert.equal(guard.admit(source, 0), Admission.Take);
 * assert.equal(guard.admit(source, 0), Admission.Refuse);
 * assert.equal(guard.admit(source, 1), Admission.Drop);
 * ```
 */
export const Admission: Readonly<{ Take: 0; Refuse: 1; Drop: 2 }> = Object.freeze({ Take: 0, Refuse: 1, Drop: 2 });

/**
 * The record of one source: its counters and what it holds.
 *
 * @example
 * ```ts
 * import { SourceGuard, type SourceRecord } from "./guard.ts";
 * import assert from "node:assert/strict";
 *
 * const guard = new SourceGuard();
 * const record: SourceRecord = guard.source("2001:db8:1:2::9", 0);
 * assert.equal(record.key, "2001:db8:1:2::/64");
 * ```
 */
export interface SourceRecord {
  /** The source: an IPv4 address, or an IPv6 prefix such as `2001:db8:1:2::/64`. */
  readonly key: string;
  /** Entries it holds, per table. */
  readonly held: Record<SourceTable, number>;
  /** Bytes received from it over UDP. */
  readonly bytesIn: number;
  /** Bytes sent to it over UDP. */
  readonly bytesOut: number;
  /** Until when it counts as validated, ms (0: never validated). */
  readonly validUntil: number;
  /** Until when it is ignored for going over the rate, ms (0: not banned). */
  readonly bannedUntil: number;
  /** Messages dropped during its current or last ban. */
  readonly dropped: number;
}

class _Record implements SourceRecord {
  readonly key: string;
  readonly held: Record<SourceTable, number> = { transactions: 0, pending: 0, dialogs: 0, streams: 0, connections: 0 };
  bytesIn = 0;
  bytesOut = 0;
  validUntil = 0;
  tokens: number;
  refilledAt: number;
  bannedUntil = 0;
  dropped = 0;
  /** Messages dropped during the last ban, until reported. */
  banDropped = 0;
  lastSeen: number;
  /** Amplification refusals not logged yet (logged once per source until it is validated). */
  amplificationLogged = false;
  logCount = 0;
  logWindow = 0;
  logSuppressed = 0;

  constructor(key: string, now: number, burst: number) {
    this.key = key;
    this.tokens = burst;
    this.refilledAt = now;
    this.lastSeen = now;
  }

  holds(): boolean {
    const h = this.held;
    return h.transactions + h.pending + h.dialogs + h.streams + h.connections > 0;
  }
}

/** Sources quiet this long and holding nothing may be forgotten. */
const QUIET = 60_000;
/** The record shared by new sources while the table is full of busy ones. */
const OVERFLOW = "*";

/**
 * The source a remote address counts as: the address itself for IPv4 (an IPv4-mapped IPv6
 * address, `::ffff:192.0.2.9`, is its IPv4 address), the /`prefix` network for IPv6
 * (`2001:db8:1:2::/64`).
 *
 * @param address An IP address without brackets.
 * @param prefix IPv6 prefix length, bits (default 64).
 * @returns The key.
 *
 * @example
 * ```ts
 * import { sourceKey } from "./guard.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(sourceKey("192.0.2.9"), "192.0.2.9");
 * assert.equal(sourceKey("::ffff:192.0.2.9"), "192.0.2.9");
 * assert.equal(sourceKey("2001:DB8:0:1:aaaa::9"), "2001:db8:0:1::/64");
 * assert.equal(sourceKey("2001:db8::1", 128), "2001:db8::1/128");
 * ```
 */
export function sourceKey(address: string, prefix = 64): string {
  if (address.indexOf(":") < 0) return address;
  const lower = address.toLowerCase();
  if (lower.startsWith("::ffff:") && lower.indexOf(".") > 0) return lower.slice(7);
  const zone = lower.indexOf("%"); // a zone (RFC 4007 §11) is not part of the address
  const groups = parseIpv6(zone < 0 ? lower : lower.slice(0, zone));
  if (groups === undefined) return lower;
  const bits = Math.max(0, Math.min(128, prefix));
  const out: number[] = [];
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, bits - 16 * i));
    out.push(keep === 16 ? groups[i] : keep === 0 ? 0 : groups[i] & (0xffff << (16 - keep)) & 0xffff);
  }
  return `${formatIpv6(out)}/${bits}`;
}

/**
 * Per-source accounting for a peer on a public address (see the module documentation). The
 * caller gives it the time (ms) with every call, as the peer is given the time.
 *
 * @example A spoofed INVITE gets at most three times its bytes back
 * ```ts
 * import { SourceGuard } from "./guard.ts";
 * import assert from "node:assert/strict";
 *
 * const guard = new SourceGuard();
 * const source = guard.source("198.51.100.7", 0);
 * guard.received(source, 500);
 * assert.equal(guard.allows(source, 1400, 0), true); // 100 Trying, 180 Ringing, 200 OK
 * guard.sent(source, 1400);
 * assert.equal(guard.allows(source, 700, 500), false); // the 200 again: over 3 x 500 bytes
 * guard.validate(source, 600); // an ACK with our To tag came back
 * assert.equal(guard.allows(source, 700, 1000), true);
 * ```
 */
export class SourceGuard {
  /** The limits in effect. */
  readonly options: Readonly<EdgeOptions>;
  #records = new Map<string, _Record>();
  #overflow: _Record | undefined;
  #lastSweep = -Infinity;
  #logWindow = 0;
  #logCount = 0;
  #logSuppressed = 0;
  #logReport = 0;

  /**
   * Makes a guard with no source known.
   *
   * @param options Limits; the rest from {@linkcode EDGE_PUBLIC}.
   * @throws {RangeError} If a limit is out of range (a negative rate, a share over 1, ...).
   */
  constructor(options: Partial<EdgeOptions> = {}) {
    const o = { ...EDGE_PUBLIC, ...options };
    for (const name of Object.keys(EDGE_PUBLIC) as (keyof EdgeOptions)[]) {
      const v = o[name];
      if (typeof v !== "number" || Number.isNaN(v) || v < 0) {
        throw new RangeError(`SourceGuard: ${name} must be a number >= 0, got ${v}`);
      }
    }
    if (!(o.share > 0 && o.share <= 1)) throw new RangeError(`SourceGuard: share must be in (0, 1], got ${o.share}`);
    if (o.ipv6Prefix > 128) throw new RangeError(`SourceGuard: ipv6Prefix must be 0..128, got ${o.ipv6Prefix}`);
    if (!(o.amplification >= 1)) {
      throw new RangeError(`SourceGuard: amplification must be at least 1, got ${o.amplification}`);
    }
    this.options = Object.freeze(o);
  }

  /** How many sources are tracked. */
  get size(): number {
    return this.#records.size;
  }

  /**
   * The record of the source of `address`, made if new.
   *
   * @param address The remote IP address, without brackets.
   * @param now The time, ms.
   * @returns Its record.
   */
  source(address: string, now: number): SourceRecord {
    const key = sourceKey(address, this.options.ipv6Prefix);
    let record = this.#records.get(key);
    if (record === undefined) record = this.#add(key, now);
    record.lastSeen = now;
    return record;
  }

  /** The record of a key, if tracked (for tests and stats). */
  peek(address: string): SourceRecord | undefined {
    return this.#records.get(sourceKey(address, this.options.ipv6Prefix));
  }

  #add(key: string, now: number): _Record {
    const records = this.#records;
    if (records.size >= this.options.sources) {
      // A sweep at most once a second: a flood of new addresses must not make each one cost a scan.
      if (now - this.#lastSweep >= 1000) {
        this.#lastSweep = now;
        for (const [k, r] of records) if (now - r.lastSeen >= QUIET && !r.holds()) records.delete(k);
      }
      if (records.size >= this.options.sources) {
        return this.#overflow ??= new _Record(OVERFLOW, now, this.options.burst);
      }
    } else if (records.size > 0) {
      // Forget one quiet source per new one, so that the table rarely needs a sweep.
      const first = records.entries().next().value as [string, _Record];
      const [k, r] = first;
      records.delete(k);
      if (now - r.lastSeen < QUIET || r.holds()) records.set(k, r);
    }
    const record = new _Record(key, now, this.options.burst);
    records.set(key, record);
    return record;
  }

  /**
   * The rate limit (a token bucket of `burst` refilled at `rate` a second): whether to take a
   * message from a source. Going over it bans the source for `ban` ms: the message that went
   * over is answered (`Refuse`: a 503 tells the source), every later one dropped unread.
   *
   * @param record The source.
   * @param now The time, ms.
   * @returns {@linkcode Admission}`.Take`, `.Refuse` or `.Drop`.
   */
  admit(record: SourceRecord, now: number): 0 | 1 | 2 {
    const r = record as _Record;
    const o = this.options;
    if (r.bannedUntil !== 0) {
      if (r.bannedUntil > now) {
        r.dropped++;
        return Admission.Drop;
      }
      r.bannedUntil = 0;
      r.banDropped = r.dropped;
    }
    if (o.rate === Infinity) return Admission.Take;
    const elapsed = now - r.refilledAt;
    if (elapsed > 0) {
      r.tokens = Math.min(o.burst, r.tokens + elapsed * o.rate / 1000);
      r.refilledAt = now;
    }
    if (r.tokens >= 1) {
      r.tokens -= 1;
      return Admission.Take;
    }
    r.bannedUntil = now + o.ban;
    r.dropped = 0;
    r.tokens = o.burst;
    return Admission.Refuse;
  }

  /**
   * How many messages a source sent during its last ban, once it is over (then 0: it is told
   * once, for a log line).
   *
   * @param record The source.
   * @returns The count.
   */
  banReport(record: SourceRecord): number {
    const r = record as _Record;
    const n = r.banDropped;
    r.banDropped = 0;
    return n;
  }

  /** Counts bytes received from a source over UDP (its amplification budget). */

  received(record: SourceRecord, bytes: number): void {
    (record as _Record).bytesIn += bytes;
  }

  /** Counts bytes sent to a source over UDP. */
  sent(record: SourceRecord, bytes: number): void {
    (record as _Record).bytesOut += bytes;
  }

  /**
   * Whether `bytes` more may be sent to a source over UDP (RFC 9000 §8.1): always once it is
   * validated, otherwise while the bytes sent stay within `amplification` times those received.
   *
   * @param record The source.
   * @param bytes What is to be sent.
   * @param now The time, ms.
   * @returns True when it may be sent.
   */
  allows(record: SourceRecord, bytes: number, now: number): boolean {
    const r = record as _Record;
    const factor = this.options.amplification;
    if (factor === Infinity || r.validUntil > now) return true;
    return r.bytesOut + bytes <= factor * r.bytesIn;
  }

  /**
   * Whether a source is validated: it has shown, within `validation` ms, that it receives what
   * we send it.
   */
  validated(record: SourceRecord, now: number): boolean {
    return record.validUntil > now;
  }

  /** The source has shown it receives our packets (RFC 9000 §8.1: address validation). */
  validate(record: SourceRecord, now: number): void {
    const r = record as _Record;
    r.validUntil = now + this.options.validation;
    r.amplificationLogged = false;
  }

  /**
   * Whether an amplification refusal is worth a log line: the first one for the source since
   * it was last validated.
   */
  firstRefusal(record: SourceRecord): boolean {
    const r = record as _Record;
    if (r.amplificationLogged) return false;
    r.amplificationLogged = true;
    return true;
  }

  /**
   * The most entries one source may hold in a table of `limit` entries: `share` of it, at
   * least one.
   *
   * @param limit The table's size.
   * @returns The share.
   * @example
   * ```ts
   * import { SourceGuard } from "./guard.ts";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new SourceGuard({ share: 0.1 }).shareOf(10_000), 1000);
   * assert.equal(new SourceGuard({ share: 0.1 }).shareOf(3), 1);
   * assert.equal(new SourceGuard({ share: 1 }).shareOf(3), 3);
   * ```
   */
  shareOf(limit: number): number {
    return Math.max(1, Math.floor(limit * this.options.share));
  }

  /**
   * Takes an entry of a table for a source, unless it holds its share already.
   *
   * @param record The source.
   * @param table The table.
   * @param limit The table's size.
   * @returns False when the source holds its share: the entry is not taken.
   */
  take(record: SourceRecord, table: SourceTable, limit: number): boolean {
    if (this.full(record, table, limit)) return false;
    (record as _Record).held[table]++;
    return true;
  }

  /**
   * Whether a source holds its share of a table already. Never when the share is the whole
   * table: then only the table's own limit applies.
   */
  full(record: SourceRecord, table: SourceTable, limit: number): boolean {
    const share = this.shareOf(limit);
    return share < limit && record.held[table] >= share;
  }

  /** Counts an entry for a source without checking its share (one it is owed). */
  hold(record: SourceRecord, table: SourceTable, count = 1): void {
    (record as _Record).held[table] += count;
  }

  /** Gives back entries of a table. */
  release(record: SourceRecord, table: SourceTable, count = 1): void {
    const held = (record as _Record).held;
    held[table] = Math.max(0, held[table] - count);
  }

  /**
   * The log throttle: whether a log line about a source may go out now. At most `logBurst`
   * per source and `logTotal` in all per `logWindow`; what is held back is counted.
   *
   * @param address The remote address the line is about, if any.
   * @param now The time, ms.
   * @returns -1: hold the line back; otherwise let it through, and this many lines were held
   *   back in log windows now over (say so, once).
   * @example
   * ```ts
   * import { SourceGuard } from "./guard.ts";
   * import assert from "node:assert/strict";
   *
   * const guard = new SourceGuard({ logBurst: 1, logWindow: 1000 });
   * guard.source("192.0.2.9", 0);
   * assert.equal(guard.logLine("192.0.2.9", 0), 0);
   * assert.equal(guard.logLine("192.0.2.9", 10), -1); // a second line in the window
   * assert.equal(guard.logLine("192.0.2.9", 1000), 1); // a new window: one line was held back
   * ```
   */
  logLine(address: string | undefined, now: number): number {
    const o = this.options;
    if (o.logTotal === Infinity && o.logBurst === Infinity) return 0;
    if (now - this.#logWindow >= o.logWindow) {
      this.#logWindow = now;
      this.#logCount = 0;
      this.#logReport += this.#logSuppressed;
      this.#logSuppressed = 0;
    }
    const r = address === undefined ? undefined : this.#records.get(sourceKey(address, o.ipv6Prefix));
    if (r !== undefined) {
      if (now - r.logWindow >= o.logWindow) {
        r.logWindow = now;
        r.logCount = 0;
      }
      if (r.logCount >= o.logBurst) {
        this.#logSuppressed++;
        return -1;
      }
      r.logCount++;
    }
    if (this.#logCount >= o.logTotal) {
      this.#logSuppressed++;
      return -1;
    }
    this.#logCount++;
    const held = this.#logReport;
    this.#logReport = 0;
    return held;
  }

  /** Forgets every source. */
  clear(): void {
    this.#records.clear();
    this.#overflow = undefined;
  }
}
