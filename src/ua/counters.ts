/**
 * The peer's counters: what it received, sent, dropped and how long its answers took, kept
 * cheaply on the hot path (typed arrays indexed by label sets fixed up front: nothing is
 * allocated per message), and read as a plain object ({@linkcode PeerStats}) by
 * `SipPeer.stats()`, `serve()`'s `server.stats()` and its `/metrics` page.
 *
 * @module
 */

/**
 * The methods counted each on its own (RFC 3261 and its extensions); any other method counts
 * as `other`.
 *
 * @example
 * ```ts
 * import { STAT_METHODS } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * assert.equal(STAT_METHODS[0], "INVITE");
 * assert.equal(STAT_METHODS.at(-1), "other");
 * ```
 */
export const STAT_METHODS = [
  "INVITE",
  "ACK",
  "BYE",
  "CANCEL",
  "OPTIONS",
  "REGISTER",
  "PRACK",
  "SUBSCRIBE",
  "NOTIFY",
  "PUBLISH",
  "INFO",
  "REFER",
  "MESSAGE",
  "UPDATE",
  "other",
] as const;

/**
 * The transports counted.
 *
 * @example
 * ```ts
 * import { STAT_TRANSPORTS } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(STAT_TRANSPORTS, ["udp", "tcp", "tls", "ws", "wss"]);
 * ```
 */
export const STAT_TRANSPORTS = ["udp", "tcp", "tls", "ws", "wss"] as const;

/**
 * Why a message was dropped (not handled, or a response not sent):
 *
 * - `not_sip`: bytes that are not a SIP message at all (also a parse error);
 * - `rate`: a source over its rate (`EdgeOptions.rate`): the message that crossed it is answered
 *   503, and everything during its ban is ignored;
 * - `amplification`: a response held back for a UDP source not validated yet (RFC 9000 §8.1);
 * - `stray`: an ACK that matches no transaction or dialog, a response to no request of ours;
 * - `transport`: dropped by the server around the peer (a message too large on a stream, a
 *   framing error, a response whose connection has closed, a connection refused);
 * - `internal`: an error of the peer itself, logged.
 *
 * @example
 * ```ts
 * import { DROP_REASONS } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * assert.ok(DROP_REASONS.includes("rate"));
 * ```
 */
export const DROP_REASONS = ["not_sip", "rate", "amplification", "stray", "transport", "internal"] as const;

/** One of {@linkcode DROP_REASONS}. */
export type DropReason = typeof DROP_REASONS[number];

/**
 * The upper bounds of the buckets of the response-time histogram, seconds: the time from a
 * request's arrival to its final response (see {@linkcode PeerStats.responseTime}); one more
 * bucket, `+Inf`, holds the rest.
 *
 * @example
 * ```ts
 * import { RESPONSE_TIME_BUCKETS } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * assert.equal(RESPONSE_TIME_BUCKETS[0], 0.001);
 * assert.equal(RESPONSE_TIME_BUCKETS.at(-1), 60);
 * ```
 */
export const RESPONSE_TIME_BUCKETS: readonly number[] = Object.freeze([
  0.001,
  0.005,
  0.01,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
]);

/** The same bounds in ms, as the peer's clock counts. */
const _BOUNDS_MS = RESPONSE_TIME_BUCKETS.map((s) => s * 1000);

/** Status codes are counted from 100 to 699; anything else (never sent by the peer) as 0. */
const _STATUSES = 700;

/**
 * What the peer has counted since it started, as a plain object (every field a number or an
 * object of numbers): from `SipPeer.stats()`, and with the server's own counters from
 * `server.stats()` (`ServerStats`).
 *
 * @example
 * ```ts
 * import { SipPeer, type PeerStats } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * const peer = new SipPeer({ address: "192.0.2.1" });
 * const options = "OPTIONS sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n" +
 *   "From: <sip:a@192.0.2.9>;tag=1\r\nTo: <sip:echo@192.0.2.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n";
 * peer.receive(new TextEncoder().encode(options), { address: "192.0.2.9", port: 5060, transport: "udp" }, 0);
 * const stats: PeerStats = peer.stats();
 * assert.equal(stats.requests.OPTIONS.udp, 1);
 * assert.deepEqual(stats.responses, { 200: 1 });
 * assert.equal(stats.responseClasses["2xx"], 1);
 * assert.equal(stats.responseTime.count, 1);
 * assert.equal(stats.active.transactions, 1); // its tombstone, until Timer J
 * ```
 */
export interface PeerStats {
  /** Requests received and parsed, by method (`other` for the rest) and transport; retransmissions included. */
  requests: Record<typeof STAT_METHODS[number], Record<typeof STAT_TRANSPORTS[number], number>>;
  /** Responses sent, by status code (only the codes sent at least once); retransmissions included. */
  responses: Record<number, number>;
  /** Responses sent, by class: `1xx` to `6xx`. */
  responseClasses: Record<"1xx" | "2xx" | "3xx" | "4xx" | "5xx" | "6xx", number>;
  /** Messages that could not be parsed (answered 400 or the like where they could be, else dropped). */
  parseErrors: number;
  /** Messages dropped, by reason ({@linkcode DROP_REASONS}). */
  drops: Record<DropReason, number>;
  /** Responses sent again (Timer G, or for a retransmitted request), and retransmitted requests absorbed. */
  retransmissions: { sent: number; absorbed: number };
  /**
   * The time from a request's arrival to its final response, on the peer's clock (so it holds
   * the delays of rules and test users, not the time to write the bytes): a histogram with the
   * bounds of {@linkcode RESPONSE_TIME_BUCKETS} (seconds; counts per bucket, not cumulative,
   * the last for `+Inf`), the sum in seconds and the count.
   */
  responseTime: { buckets: number[]; sum: number; count: number };
  /** What the tables hold now: transactions (tombstones included), those at work, dialogs, bindings. */
  active: { transactions: number; pending: number; dialogs: number; bindings: number };
  /** The size of each table (`PeerLimits`). */
  limits: { transactions: number; pending: number; dialogs: number; bindings: number };
}

/** A method's index in {@linkcode STAT_METHODS}. */
function _method(method: string): number {
  switch (method) {
    case "INVITE":
      return 0;
    case "ACK":
      return 1;
    case "BYE":
      return 2;
    case "CANCEL":
      return 3;
    case "OPTIONS":
      return 4;
    case "REGISTER":
      return 5;
    case "PRACK":
      return 6;
    case "SUBSCRIBE":
      return 7;
    case "NOTIFY":
      return 8;
    case "PUBLISH":
      return 9;
    case "INFO":
      return 10;
    case "REFER":
      return 11;
    case "MESSAGE":
      return 12;
    case "UPDATE":
      return 13;
    default:
      return 14;
  }
}

/** A transport's index in {@linkcode STAT_TRANSPORTS}. */
function _transport(transport: string): number {
  switch (transport) {
    case "udp":
      return 0;
    case "tcp":
      return 1;
    case "tls":
      return 2;
    case "ws":
      return 3;
    default:
      return 4;
  }
}

/**
 * The counters themselves: the peer's parts add to them as messages go, with no allocation;
 * {@linkcode PeerCounters.snapshot} makes the plain object. Internal to the peer and the
 * server (exported for the server's own counters).
 *
 * @example
 * ```ts
 * import { PeerCounters } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * const c = new PeerCounters();
 * c.request("INVITE", "udp");
 * c.request("FOO", "tcp");
 * c.response(100);
 * c.answered(3);
 * c.drop("rate");
 * const s = c.snapshot();
 * assert.equal(s.requests.INVITE.udp, 1);
 * assert.equal(s.requests.other.tcp, 1);
 * assert.deepEqual(s.responses, { 100: 1 });
 * assert.deepEqual(s.responseTime.buckets.slice(0, 2), [0, 1]); // 3 ms: in the 5 ms bucket
 * assert.equal(s.drops.rate, 1);
 * ```
 */
export class PeerCounters {
  /** Requests by method and transport: `method * transports + transport`. */
  readonly requests: Float64Array = new Float64Array(STAT_METHODS.length * STAT_TRANSPORTS.length);
  /** Responses sent by status code (index 0: out of range). */
  readonly responses: Float64Array = new Float64Array(_STATUSES);
  /** Drops by reason, in the order of {@linkcode DROP_REASONS}. */
  readonly drops: Float64Array = new Float64Array(DROP_REASONS.length);
  /** Response times per bucket, the last for `+Inf`. */
  readonly responseTime: Float64Array = new Float64Array(RESPONSE_TIME_BUCKETS.length + 1);
  /** The sum of the response times, ms. */
  responseTimeSum = 0;
  /** Messages that did not parse. */
  parseErrors = 0;
  /** Responses sent again. */
  retransmissionsSent = 0;
  /** Retransmitted requests absorbed. */
  retransmissionsAbsorbed = 0;

  /** A request received. */
  request(method: string, transport: string): void {
    this.requests[_method(method) * STAT_TRANSPORTS.length + _transport(transport)]++;
  }

  /** A response sent, `times` times. */
  response(status: number, times = 1): void {
    this.responses[status >= 100 && status < _STATUSES ? status : 0] += times;
  }

  /** A final response, `ms` after its request arrived. */
  answered(ms: number): void {
    let i = 0;
    while (i < _BOUNDS_MS.length && ms > _BOUNDS_MS[i]) i++;
    this.responseTime[i]++;
    this.responseTimeSum += ms;
  }

  /** A message dropped. */
  drop(reason: DropReason, count = 1): void {
    this.drops[DROP_REASONS.indexOf(reason)] += count;
  }

  /**
   * The counters as a plain object; `active` and `limits` are the caller's (zeros here).
   *
   * @returns A new object.
   */
  snapshot(): PeerStats {
    const requests = {} as PeerStats["requests"];
    STAT_METHODS.forEach((method, m) => {
      const row = {} as Record<typeof STAT_TRANSPORTS[number], number>;
      STAT_TRANSPORTS.forEach((t, i) => row[t] = this.requests[m * STAT_TRANSPORTS.length + i]);
      requests[method] = row;
    });
    const responses: Record<number, number> = {};
    const responseClasses = { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, "6xx": 0 };
    for (let status = 100; status < _STATUSES; status++) {
      const n = this.responses[status];
      if (n === 0) continue;
      responses[status] = n;
      responseClasses[`${Math.floor(status / 100)}xx` as keyof typeof responseClasses] += n;
    }
    const drops = {} as Record<DropReason, number>;
    DROP_REASONS.forEach((reason, i) => drops[reason] = this.drops[i]);
    const buckets = [...this.responseTime];
    return {
      requests,
      responses,
      responseClasses,
      parseErrors: this.parseErrors,
      drops,
      retransmissions: { sent: this.retransmissionsSent, absorbed: this.retransmissionsAbsorbed },
      responseTime: {
        buckets,
        sum: this.responseTimeSum / 1000,
        count: buckets.reduce((a, b) => a + b, 0),
      },
      active: { transactions: 0, pending: 0, dialogs: 0, bindings: 0 },
      limits: { transactions: 0, pending: 0, dialogs: 0, bindings: 0 },
    };
  }
}
