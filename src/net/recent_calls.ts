/**
 * What the live page (`serve({ http })`, `/`) shows: the last calls and transactions, grouped
 * by Call-ID, each with the last of its messages in full. Everything is bounded:
 * {@linkcode RECENT_CALLS} Call-IDs, {@linkcode MESSAGES_PER_CALL} messages each (a ring: the
 * oldest go first), {@linkcode MESSAGE_TEXT} characters of each message (the rest cut, and
 * said so), so the memory it holds has a ceiling whatever comes in.
 *
 * @module
 */

import { formatMessage } from "../sip/format.ts";
import type { TrafficEntry } from "./serve_options.ts";

/**
 * The most Call-IDs kept for the live page; a new one pushes out the one seen first.
 *
 * @example
 * ```ts
 * import { RECENT_CALLS } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * assert.equal(RECENT_CALLS, 100);
 * ```
 */
export const RECENT_CALLS = 100;

/**
 * The most messages kept per Call-ID (the last ones); `RecentCall.total` counts them all.
 *
 * @example
 * ```ts
 * import { MESSAGES_PER_CALL } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * assert.equal(MESSAGES_PER_CALL, 32);
 * ```
 */
export const MESSAGES_PER_CALL = 32;

/**
 * The most messages kept unread while no page watches (see {@linkcode RecentCalls.record}):
 * few, so that what passes while nobody looks dies young and costs the collector little; the
 * page's first look shows the calls among them, and everything after.
 *
 * @example
 * ```ts
 * import { UNWATCHED_MESSAGES } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * assert.equal(UNWATCHED_MESSAGES, 256);
 * ```
 */
export const UNWATCHED_MESSAGES = 256;

/**
 * The most characters kept of one message's text; a longer one is cut, with a line saying how
 * much. With {@linkcode RECENT_CALLS} and {@linkcode MESSAGES_PER_CALL}: at most 3,200
 * messages of 8 KiB, some 26 MB of text in the worst case (a few hundred KB for ordinary calls).
 *
 * @example
 * ```ts
 * import { MESSAGE_TEXT } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * assert.equal(MESSAGE_TEXT, 8192);
 * ```
 */
export const MESSAGE_TEXT = 8192;

/**
 * One message as the live page shows it.
 *
 * @example
 * ```ts
 * import type { RecentMessage } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * const m: RecentMessage = {
 *   seq: 1, time: 0, direction: "in", transport: "udp", remote: "192.0.2.9:5060",
 *   summary: "OPTIONS sip:echo@192.0.2.1", method: "OPTIONS", status: undefined, cseq: "1 OPTIONS",
 *   text: "OPTIONS sip:echo@192.0.2.1 SIP/2.0\r\n...",
 * };
 * assert.equal(m.direction, "in");
 * ```
 */
export interface RecentMessage {
  /** Its number among every message recorded, from 1. */
  seq: number;
  /** Wall-clock time, ms since the epoch. */
  time: number;
  /** `in` received, `out` sent. */
  direction: "in" | "out";
  /** The transport. */
  transport: string;
  /** The other side, `HOST:PORT`. */
  remote: string;
  /** The start line without the version: `INVITE sip:echo@...` or `200 OK`. */
  summary: string;
  /** The method of a request, or of the request a response answers (from CSeq). */
  method: string;
  /** The status of a response. */
  status: number | undefined;
  /** The CSeq field. */
  cseq: string;
  /** The message whole (start line, header fields, body), cut at {@linkcode MESSAGE_TEXT}. */
  text: string;
}

/**
 * One Call-ID as the live page lists it.
 *
 * @example
 * ```ts
 * import type { RecentCall } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * const call: RecentCall = {
 *   callId: "c1", from: "alice", to: "echo", first: 0, last: 5, methods: ["INVITE"], status: 200, total: 3,
 *   messages: [],
 * };
 * assert.equal(call.total, 3);
 * ```
 */
export interface RecentCall {
  /** The Call-ID. */
  callId: string;
  /** The user part of From (or the whole URI when it has none), as first seen. */
  from: string;
  /** The user part of To, as first seen. */
  to: string;
  /** When its first message went, ms since the epoch. */
  first: number;
  /** When its last message went, ms since the epoch. */
  last: number;
  /** The methods of its requests, in the order first seen. */
  methods: string[];
  /** The status of the last response, if any. */
  status: number | undefined;
  /** How many messages it has had (the last {@linkcode MESSAGES_PER_CALL} are kept). */
  total: number;
  /** The messages kept, oldest first. */
  messages: RecentMessage[];
}

const _decoder = new TextDecoder();

/** The user part of a From or To URI, or the URI itself. */
function _user(uri: string): string {
  const m = /^[a-z]+:([^@;?>]+)@/i.exec(uri);
  return m === null ? uri : m[1];
}

/**
 * The recent calls of a server, for its live page: {@linkcode RecentCalls.record} takes each
 * message in or out (`onTraffic` entries), listeners hear of each message recorded.
 *
 * @example
 * ```ts
 * import { RecentCalls } from "@sipecho/sipecho/net";
 * import { parseMessage } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const recent = new RecentCalls({ calls: 2, messages: 2 });
 * for (const id of ["a", "b", "c"]) {
 *   const message = parseMessage(
 *     `OPTIONS sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK${id}\r\n` +
 *       `From: <sip:alice@192.0.2.9>;tag=1\r\nTo: <sip:echo@192.0.2.1>\r\nCall-ID: ${id}\r\nCSeq: 1 OPTIONS\r\n\r\n`,
 *   );
 *   recent.record({ time: 0, direction: "in", transport: "udp", remote: { address: "192.0.2.9", port: 5060 }, message });
 * }
 * assert.deepEqual(recent.calls().map((c) => c.callId), ["b", "c"]); // two kept: the first pushed out
 * assert.equal(recent.calls()[0].from, "alice");
 * assert.match(recent.calls()[0].messages[0].text, /^OPTIONS sip:echo@192\.0\.2\.1 SIP\/2\.0\r\n/);
 * ```
 */
export class RecentCalls {
  readonly #max: number;
  readonly #perCall: number;
  readonly #calls = new Map<string, RecentCall>();
  #seq = 0;
  readonly #listeners = new Set<(call: RecentCall, message: RecentMessage) => void>();
  /**
   * Entries not yet read, while nobody listens: reading one (its headers, its text) is most of
   * the cost, so it waits until the page asks. At most as many as the record keeps.
   */
  #pending: TrafficEntry[] = [];

  /**
   * Makes an empty record.
   *
   * @param limits `calls` (default {@linkcode RECENT_CALLS}) and `messages` per call (default
   *   {@linkcode MESSAGES_PER_CALL}).
   */
  constructor(limits: { calls?: number; messages?: number } = {}) {
    this.#max = limits.calls ?? RECENT_CALLS;
    this.#perCall = limits.messages ?? MESSAGES_PER_CALL;
  }

  /**
   * Records a message. While no listener is attached the entry is only kept, and read when
   * {@linkcode RecentCalls.calls} or a new listener asks (its `message` may be a getter that
   * parses: it is not touched before then); of those entries, the last
   * {@linkcode UNWATCHED_MESSAGES} at least are kept, so the first look shows the calls among
   * them.
   *
   * @param entry The message, where it went and when.
   */
  record(entry: TrafficEntry): void {
    if (this.#listeners.size === 0) {
      const pending = this.#pending;
      pending.push(entry);
      const cap = Math.min(UNWATCHED_MESSAGES, this.#max * this.#perCall);
      if (pending.length >= 2 * cap) pending.splice(0, pending.length - cap);
      return;
    }
    this.#read(entry);
  }

  /** Reads the entries kept while nobody listened, oldest first. */
  #catchUp(): void {
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    for (const entry of pending) this.#read(entry);
  }

  #read(entry: TrafficEntry): void {
    const m = entry.message;
    const callId = m.headers.get("Call-ID") ?? "";
    const cseq = m.headers.get("CSeq") ?? "";
    let call = this.#calls.get(callId);
    if (call === undefined) {
      if (this.#calls.size >= this.#max) this.#calls.delete(this.#calls.keys().next().value!);
      call = {
        callId,
        from: _user(_uriOf(m.headers.get("From"))),
        to: _user(_uriOf(m.headers.get("To"))),
        first: entry.time,
        last: entry.time,
        methods: [],
        status: undefined,
        total: 0,
        messages: [],
      };
      this.#calls.set(callId, call);
    }
    let text = _decoder.decode(formatMessage(m));
    if (text.length > MESSAGE_TEXT) {
      text = `${text.slice(0, MESSAGE_TEXT)}\r\n[... ${text.length - MESSAGE_TEXT} more characters not kept]`;
    }
    const method = m.type === "request" ? m.method : cseq.split(/\s+/)[1] ?? "";
    const message: RecentMessage = {
      seq: ++this.#seq,
      time: entry.time,
      direction: entry.direction,
      transport: entry.transport,
      remote: entry.remote.address.includes(":")
        ? `[${entry.remote.address}]:${entry.remote.port}`
        : `${entry.remote.address}:${entry.remote.port}`,
      summary: m.type === "request" ? `${m.method} ${m.uri}` : `${m.status} ${m.reason}`,
      method,
      status: m.type === "response" ? m.status : undefined,
      cseq,
      text,
    };
    call.last = entry.time;
    call.total++;
    if (m.type === "request" && !call.methods.includes(m.method)) call.methods.push(m.method);
    if (m.type === "response") call.status = m.status;
    call.messages.push(message);
    if (call.messages.length > this.#perCall) call.messages.shift();
    for (const listener of this.#listeners) listener(call, message);
  }

  /**
   * The calls kept, oldest first.
   *
   * @returns The calls (the live objects: read, do not change).
   */
  calls(): RecentCall[] {
    this.#catchUp();
    return [...this.#calls.values()];
  }

  /**
   * Calls `listener` with each message recorded from now on, and its call.
   *
   * @param listener What to call.
   * @returns What stops it.
   */
  listen(listener: (call: RecentCall, message: RecentMessage) => void): () => void {
    this.#catchUp();
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }
}

/** The URI of a From or To field value: inside `<>`, else up to the first `;`. */
function _uriOf(value: string | undefined): string {
  if (value === undefined) return "";
  const lt = value.indexOf("<");
  if (lt >= 0) {
    const gt = value.indexOf(">", lt);
    return value.slice(lt + 1, gt < 0 ? undefined : gt);
  }
  return value.split(";")[0].trim();
}
