/**
 * An in-memory registrar (RFC 3261 §10.3): bindings of contacts to addresses of record, with
 * expiry, queries, removal with `Contact: *`, Call-ID/CSeq ordering, and bounds on the table,
 * on the contacts of one address of record and on the bindings of one source.
 *
 * The registrar decides the answer (status, reason and headers); the caller builds the
 * response around it with {@linkcode createResponse}. Time is passed in, in milliseconds.
 *
 * @module
 */

import type { SipRequest } from "../sip/message.ts";
import { type Contact, HeaderError } from "../sip/header_values.ts";
import { formatParams, type Params, type SipUri, type Uri } from "../sip/uri.ts";
import { BindingExpiries } from "./binding_expiries.ts";

/**
 * Options of a {@linkcode Registrar}.
 *
 * @example
 * ```ts
 * import { Registrar, type RegistrarOptions } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * const options: RegistrarOptions = { minExpires: 300, maxBindings: 100 };
 * const registrar = new Registrar(options);
 * assert.equal(registrar.options.minExpires, 300);
 * assert.equal(registrar.options.maxExpires, 86400); // the default
 * assert.equal(registrar.options.maxContactsPerAor, 10); // the default
 * assert.equal(registrar.options.maxBindingsPerSource, 10); // a tenth of maxBindings
 * ```
 */
export interface RegistrarOptions {
  /** Shortest expiry accepted, seconds (default 60); shorter ones get 423 (RFC 3261 §10.3 step 7). */
  minExpires?: number;
  /** Longest expiry granted, seconds (default 86400); longer ones are shortened to it. */
  maxExpires?: number;
  /** Expiry when the request names none, seconds (default 3600, RFC 3261 §10.2.1.1). */
  defaultExpires?: number;
  /** Most bindings held over all addresses of record (default 10000); beyond it: 503. */
  maxBindings?: number;
  /** Retry-After of the 503s (table full, source over its share), seconds (default 5). */
  retryAfter?: number;
  /**
   * Most bindings of one address of record (default 10). A REGISTER that would leave more gets
   * 403 and changes nothing; one that carries more Contact values than this is refused so before
   * they are parsed, even if some of them are removals or repeats.
   */
  maxContactsPerAor?: number;
  /**
   * Most bindings last written by REGISTERs of one source (see {@linkcode Registrar.register}),
   * default a tenth of `maxBindings`, at least 1. A REGISTER that would take its source beyond it
   * gets 503 with Retry-After and changes nothing.
   */
  maxBindingsPerSource?: number;
}

/**
 * One binding of a contact to an address of record.
 *
 * @example
 * ```ts
 * import { type Binding, Registrar } from "@sipecho/sipecho/peer";
 * import { parseMessage, type SipRequest } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const registrar = new Registrar();
 * const register = parseMessage(
 *   "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n" +
 *     "From: <sip:bob@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: r1\r\n" +
 *     "CSeq: 7 REGISTER\r\nContact: <sip:bob@192.0.2.4>;q=0.7;expires=600\r\n\r\n",
 * ) as SipRequest;
 * registrar.register(register, 1000);
 * const [binding]: Binding[] = registrar.lookup("sip:bob@example.com", 1000);
 * assert.equal(binding.uri, "sip:bob@192.0.2.4");
 * assert.deepEqual(binding.params, { q: "0.7" });
 * assert.equal(binding.expiresAt, 601_000);
 * assert.equal(binding.cseq, 7);
 * ```
 */
export interface Binding {
  /** The address of record, canonical (see {@linkcode addressOfRecord}). */
  readonly aor: string;
  /** The contact URI as written in the REGISTER. */
  readonly uri: string;
  /** The parsed contact URI. */
  readonly parsedUri: Uri;
  /** The contact's header parameters other than `expires` (q, +sip.instance, ...). */
  readonly params: Params;
  /** When the binding expires, ms on the caller's clock. */
  readonly expiresAt: number;
  /** Call-ID of the REGISTER that made or last refreshed it. */
  readonly callId: string;
  /** CSeq number of that REGISTER. */
  readonly cseq: number;
  /** Path header values stored with it (RFC 3327 §5.3). */
  readonly path: readonly string[];
  /** The source key given with that REGISTER; absent if none was. */
  readonly source?: string;
}

/**
 * The registrar's answer to a REGISTER: the status and the headers to add to the response.
 *
 * @example
 * ```ts
 * import { parseMessage, type SipRequest } from "@sipecho/sipecho";
 * import { type RegisterResult, Registrar } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * const register = parseMessage(
 *   "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n" +
 *     "From: <sip:bob@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: r1\r\n" +
 *     "CSeq: 1 REGISTER\r\nContact: <sip:bob@192.0.2.4>\r\nExpires: 30\r\n\r\n",
 * ) as SipRequest;
 * const result: RegisterResult = new Registrar({ minExpires: 60 }).register(register, 0);
 * assert.equal(result.status, 423); // Interval Too Brief
 * assert.deepEqual(result.headers, [["Min-Expires", "60"]]);
 * ```
 */
export interface RegisterResult {
  /** 200, 400, 403, 423, 500 or 503. */
  status: number;
  /** A reason phrase when the standard one would not say enough. */
  reason?: string;
  /** Header fields for the response (Contact, Min-Expires, Retry-After, Path). */
  headers: [string, string][];
}

/**
 * The canonical address of record of a To URI (RFC 3261 §10.3 step 5): `sip:user@host[:port]`
 * with URI parameters removed, escapes undone and the host in lower case; undefined for a
 * URI that is not sip or sips.
 *
 * @param uri The parsed To URI.
 * @returns The address of record, or undefined.
 * @example
 * ```ts
 * import { addressOfRecord } from "@sipecho/sipecho/peer";
 * import { parseUri } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 * assert.equal(addressOfRecord(parseUri("sip:%61lice@Example.COM;user=phone")), "sip:alice@example.com");
 * assert.equal(addressOfRecord(parseUri("tel:+1-201-555-0123")), undefined);
 * ```
 */
export function addressOfRecord(uri: Uri): string | undefined {
  if (uri.scheme !== "sip" && uri.scheme !== "sips") return undefined;
  const u = uri as SipUri;
  const user = u.user === undefined ? "" : `${u.user}@`;
  const port = u.port === undefined ? "" : `:${u.port}`;
  return `${u.scheme}:${user}${u.host.toLowerCase()}${port}`;
}

interface _Change {
  contact: Contact;
  expires: number;
  existing?: Binding;
}

/**
 * An in-memory registrar (RFC 3261 §10.3).
 *
 * Expiry times wait in a queue ordered by time, so removing expired bindings costs what has
 * expired, not the size of the table; every method given a time first removes the bindings
 * expired by then.
 *
 * @example Registering and querying
 * ```ts
 * import { parseMessage, type SipRequest } from "@sipecho/sipecho";
 * import { Registrar } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * const registrar = new Registrar();
 * const register = parseMessage(
 *   "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n" +
 *     "From: <sip:bob@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: r1\r\n" +
 *     "CSeq: 1 REGISTER\r\nContact: <sip:bob@192.0.2.4>\r\nExpires: 600\r\n\r\n",
 * ) as SipRequest;
 * const result = registrar.register(register, 0);
 * assert.equal(result.status, 200);
 * assert.deepEqual(result.headers, [["Contact", "<sip:bob@192.0.2.4>;expires=600"]]);
 * assert.equal(registrar.lookup("sip:bob@example.com", 1000)[0].uri, "sip:bob@192.0.2.4");
 * ```
 *
 * @example A share of the table per source
 * ```ts
 * import { parseMessage, type SipRequest } from "@sipecho/sipecho";
 * import { Registrar } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * const registrar = new Registrar({ maxBindingsPerSource: 1, retryAfter: 30 });
 * const register = (user: string) =>
 *   parseMessage(
 *     "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n" +
 *       `From: <sip:${user}@example.com>;tag=1\r\nTo: <sip:${user}@example.com>\r\nCall-ID: r1\r\n` +
 *       `CSeq: 1 REGISTER\r\nContact: <sip:${user}@192.0.2.4>\r\n\r\n`,
 *   ) as SipRequest;
 * assert.equal(registrar.register(register("bob"), 0, "192.0.2.4").status, 200);
 * assert.deepEqual(registrar.register(register("carol"), 0, "192.0.2.4"), {
 *   status: 503,
 *   reason: "Service Unavailable: too many bindings from this source",
 *   headers: [["Retry-After", "30"]],
 * });
 * assert.equal(registrar.register(register("carol"), 0, "192.0.2.5").status, 200);
 * assert.equal(registrar.bindingsOf("192.0.2.4"), 1);
 * ```
 */
export class Registrar {
  /** The options in effect. */
  readonly options: Readonly<Required<RegistrarOptions>>;
  /** @internal For tests: called with each address of record whose bindings are checked for expiry. */
  _expiryProbe: ((aor: string) => void) | undefined = undefined;
  #table = new Map<string, Binding[]>();
  #count = 0;
  #bySource = new Map<string, number>();
  #queue = new BindingExpiries();
  /** Takes back the last REGISTER answered 200 (see `undo()`). */
  #undo: (() => void) | undefined;
  /**
   * @internal Called with the address of record and its bindings after each REGISTER answered
   * 200 and each `undo()`, with the time given: what sibling processes need to hold the same
   * bindings (src/net/worker_sync.ts). Expiry is not reported: each process expires on its own.
   */
  _onChange: ((aor: string, bindings: readonly Binding[], now: number) => void) | undefined = undefined;
  /** The address of record and time of the last REGISTER answered 200, for `_onChange` on `undo()`. */
  #last: { aor: string; now: number } | undefined;

  /**
   * Makes an empty registrar.
   *
   * @param options Expiry bounds, and the most bindings of the table, of an address of record and
   *   of a source.
   */
  constructor(options: RegistrarOptions = {}) {
    const maxBindings = options.maxBindings ?? 10000;
    this.options = Object.freeze({
      minExpires: options.minExpires ?? 60,
      maxExpires: options.maxExpires ?? 86400,
      defaultExpires: options.defaultExpires ?? 3600,
      maxBindings,
      retryAfter: options.retryAfter ?? 5,
      maxContactsPerAor: options.maxContactsPerAor ?? 10,
      maxBindingsPerSource: options.maxBindingsPerSource ?? Math.max(1, Math.floor(maxBindings / 10)),
    });
  }

  /**
   * The number of bindings held. Each method given a time first removes the bindings expired by
   * then, so this is the number current at the latest time given (on a clock that does not go
   * back): a binding is counted until a call with a time at or after its expiry.
   */
  get size(): number {
    return this.#count;
  }

  /**
   * The number of bindings held whose last REGISTER came from a source, counted as
   * {@linkcode Registrar.size} is.
   *
   * @param source A source key as given to {@linkcode Registrar.register}.
   * @returns The number; 0 for a source not seen.
   */
  bindingsOf(source: string): number {
    return this.#bySource.get(source) ?? 0;
  }

  /**
   * Processes a REGISTER (RFC 3261 §10.3 steps 5 to 8). All changes of one request are made
   * or none is (step 7). It is refused with 400 if malformed; 403 if the address of record would
   * hold more than `maxContactsPerAor` bindings, counting those it adds, refreshes and removes
   * (a request carrying more Contact values than that is refused before they are parsed); 423
   * for a too brief expiry; 500 if out of order (Call-ID and CSeq); and 503 with Retry-After if
   * its source would hold more than `maxBindingsPerSource` bindings, or the table more than
   * `maxBindings`.
   *
   * @param request The REGISTER. The bindings keep copies of what they need, not the request.
   * @param now The time, ms.
   * @param source Who sent it, as a key of the caller's choosing (`192.0.2.9`, `2001:db8:1:2::/64`),
   *   opaque to the registrar. The bindings the request writes count against that source's share
   *   until they are refreshed by another, removed or expired; without a source they count
   *   against none.
   * @returns The status and the headers of the response.
   */
  register(request: SipRequest, now: number, source?: string): RegisterResult {
    this.#undo = undefined;
    try {
      const result = this.#register(request, now, source);
      if (this.#undo !== undefined && this.#last !== undefined) {
        this.#last.now = now;
        this._onChange?.(this.#last.aor, this.#table.get(this.#last.aor) ?? [], now);
      }
      return result;
    } catch (e) {
      if (e instanceof HeaderError) return { status: 400, reason: e.message, headers: [] };
      throw e;
    }
  }

  #register(request: SipRequest, now: number, source: string | undefined): RegisterResult {
    // Step 5: the address of record, from To (RFC 4475 §3.3.7: other schemes get 400).
    const aor = addressOfRecord(request.to.parsedUri);
    if (aor === undefined) {
      return { status: 400, reason: "Bad Request: To is not a sip or sips URI", headers: [] };
    }
    const callId = request.callId;
    const seq = request.cseq.seq;
    const raw = request.headers.getAll("Contact");
    if (raw.length > 1 && raw.includes("*")) {
      return { status: 400, reason: "Bad Request: Contact: * must be the only Contact", headers: [] };
    }
    // More contacts than an address of record may hold are refused before they are parsed: each
    // would be parsed and compared with every binding (step 7) only to be refused. A UA that
    // means to replace many bindings can remove them with Contact: * first.
    if (raw.length > this.options.maxContactsPerAor) return this.#tooManyContacts(aor);
    this.purge(now);
    const contacts = request.contact;
    const headerExpires = request.expires;
    const current = this.#table.get(aor) ?? [];
    // Step 6: Contact: * with Expires: 0, alone, removes every binding.
    if (contacts === "*") {
      if (headerExpires !== 0) {
        return { status: 400, reason: "Bad Request: Contact: * needs Expires: 0", headers: [] };
      }
      for (const b of current) {
        if (b.callId === callId && seq <= b.cseq) return _outOfOrder();
      }
      this.#set(aor, []);
      return this.#undoable(this.#ok(aor, now), aor, current);
    }
    // Step 7: expiry of each contact, then the Call-ID/CSeq check against existing bindings.
    const changes: _Change[] = [];
    for (const contact of contacts) {
      let expires = contact.expires ?? headerExpires ?? this.options.defaultExpires;
      if (expires > 0 && expires < 3600 && expires < this.options.minExpires) {
        return {
          status: 423,
          headers: [["Min-Expires", String(this.options.minExpires)]],
        };
      }
      if (expires > this.options.maxExpires) expires = this.options.maxExpires;
      const existing = current.find((b) => _sameUri(b.parsedUri, contact.parsedUri));
      if (existing !== undefined && existing.callId === callId && seq <= existing.cseq) return _outOfOrder();
      changes.push({ contact, expires, existing });
    }
    const path = request.supported.includes("path") ? request.headers.getAll("Path") : [];
    const next = this.#apply(current, changes, { aor, callId, seq, path, source, now });
    // Step 8 lists every binding in the 200: the bound keeps that list, and the comparisons of
    // step 7, small.
    if (next.length > this.options.maxContactsPerAor) return this.#tooManyContacts(aor);
    if (source !== undefined) {
      let added = 0;
      for (const b of current) if (b.source === source) added--;
      for (const b of next) if (b.source === source) added++;
      if (added > 0 && this.bindingsOf(source) + added > this.options.maxBindingsPerSource) {
        return this.#unavailable("Service Unavailable: too many bindings from this source");
      }
    }
    if (this.#count - current.length + next.length > this.options.maxBindings) {
      return this.#unavailable("Service Unavailable: registrar table full");
    }
    this.#set(aor, next);
    for (const b of next) if (!current.includes(b)) this.#queue.push(b.expiresAt, aor);
    // The entries of refreshed and removed bindings stay in the queue until they come due; once
    // they outnumber the bindings, the queue is rebuilt, a cost spread over the pushes that grew it.
    if (this.#queue.length > 2 * this.#count + 16) this.#rebuildQueue();
    const result = this.#ok(aor, now);
    for (const p of path) result.headers.push(["Path", p]);
    return this.#undoable(result, aor, current);
  }

  /** The bindings an address of record has after a REGISTER's changes (step 7), the others kept. */
  #apply(
    current: readonly Binding[],
    changes: readonly _Change[],
    w: { aor: string; callId: string; seq: number; path: string[]; source: string | undefined; now: number },
  ): Binding[] {
    const next = current.slice();
    for (const { contact, expires, existing } of changes) {
      const index = existing === undefined ? -1 : next.indexOf(existing);
      if (expires === 0) {
        if (index >= 0) next.splice(index, 1);
        continue;
      }
      const params: Params = {};
      for (const [name, value] of Object.entries(contact.params)) if (name !== "expires") params[name] = value;
      const binding: Binding = {
        aor: w.aor,
        uri: contact.uri,
        parsedUri: _copyUri(contact.parsedUri),
        params,
        expiresAt: w.now + expires * 1000,
        callId: w.callId,
        cseq: w.seq,
        path: w.path,
      };
      if (w.source !== undefined) (binding as { source?: string }).source = w.source;
      // A contact repeated in one request: the last one wins.
      const again = index >= 0 ? index : next.findIndex((b) => _sameUri(b.parsedUri, contact.parsedUri));
      if (again >= 0) next[again] = binding;
      else next.push(binding);
    }
    return next;
  }

  /** A 200 that {@linkcode Registrar.undo} can take back. */
  #undoable(result: RegisterResult, aor: string, before: Binding[]): RegisterResult {
    this.#last = { aor, now: 0 };
    this.#undo = () => {
      this.#set(aor, before);
      for (const b of before) this.#queue.push(b.expiresAt, aor);
    };
    return result;
  }

  /**
   * Takes back the last REGISTER answered 200: its address of record gets the bindings it had
   * before. For a caller that cannot send that 200 after all (it answers 503 instead, and a
   * 503 means nothing was done). Call it at once, before any other `register()`.
   *
   * @returns Whether there was a REGISTER to take back.
   * @example
   * ```ts
   * import { parseMessage, type SipRequest } from "@sipecho/sipecho";
   * import { Registrar } from "@sipecho/sipecho/peer";
   * import assert from "node:assert/strict";
   *
   * const registrar = new Registrar();
   * const request = parseMessage(
   *   "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKr1\r\n" +
   *     "From: <sip:bob@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: r1\r\nCSeq: 1 REGISTER\r\n" +
   *     "Contact: <sip:bob@192.0.2.4>\r\n\r\n",
   * ) as SipRequest;
   * assert.equal(registrar.register(request, 0).status, 200);
   * assert.equal(registrar.undo(), true);
   * assert.equal(registrar.size, 0);
   * ```
   */
  undo(): boolean {
    const undo = this.#undo;
    this.#undo = undefined;
    undo?.();
    const last = this.#last;
    if (undo !== undefined && last !== undefined) this._onChange?.(last.aor, this.#table.get(last.aor) ?? [], last.now);
    return undo !== undefined;
  }

  /**
   * The current bindings of an address of record.
   *
   * @param aor A sip or sips URI; it is made canonical first (see {@linkcode addressOfRecord}).
   * @param now The time, ms: bindings expired by then are removed first.
   * @returns The bindings, oldest first.
   */
  lookup(aor: string | Uri, now: number): Binding[] {
    const key = typeof aor === "string" ? aor : addressOfRecord(aor);
    if (key === undefined) return [];
    this.purge(now);
    return this.#table.get(key)?.slice() ?? [];
  }

  /**
   * Every current binding.
   *
   * @param now The time, ms: bindings expired by then are removed first.
   * @returns The bindings, by address of record.
   */
  all(now: number): Binding[] {
    this.purge(now);
    const out: Binding[] = [];
    for (const list of this.#table.values()) out.push(...list);
    return out;
  }

  /**
   * Removes expired bindings. It costs what has expired (and the queue entries of bindings
   * refreshed or removed since), not the size of the table.
   *
   * @param now The time, ms.
   * @returns How many were removed.
   */
  purge(now: number): number {
    const before = this.#count;
    const queue = this.#queue;
    while (queue.earliest() <= now) this.#expire(queue.pop(), now);
    return before - this.#count;
  }

  /**
   * @internal Replaces the bindings of an address of record with those a sibling process holds
   * (src/net/worker_sync.ts), without the checks of a REGISTER and without `_onChange`; the
   * table's own bounds still hold: at most `maxContactsPerAor` bindings are taken, and none when
   * the table would go over `maxBindings`.
   *
   * @param aor The address of record, canonical.
   * @param bindings Its bindings, `expiresAt` on this registrar's clock; none removes it.
   * @returns False when the table had no room for them (nothing changed).
   */
  _replace(aor: string, bindings: Binding[]): boolean {
    const list = bindings.slice(0, this.options.maxContactsPerAor);
    const old = this.#table.get(aor)?.length ?? 0;
    if (this.#count - old + list.length > this.options.maxBindings) return false;
    this.#set(aor, list);
    for (const b of list) this.#queue.push(b.expiresAt, aor);
    return true;
  }

  /** Removes every binding. */
  clear(): void {
    this.#table.clear();
    this.#count = 0;
    this.#bySource.clear();
    this.#queue.clear();
  }

  // An entry of the queue came due: the bindings of its address of record that have expired go.
  // The entry may be stale (its binding refreshed or removed since), and then nothing has.
  #expire(aor: string, now: number): void {
    const list = this.#table.get(aor);
    if (list === undefined) return;
    this._expiryProbe?.(aor);
    const live = list.filter((b) => b.expiresAt > now);
    if (live.length !== list.length) this.#set(aor, live);
  }

  // Every change of the table goes through here, so the counts stay exact.
  #set(aor: string, list: Binding[]): void {
    const old = this.#table.get(aor);
    if (old !== undefined) { for (const b of old) if (b.source !== undefined) this.#tally(b.source, -1); }
    for (const b of list) if (b.source !== undefined) this.#tally(b.source, 1);
    this.#count += list.length - (old?.length ?? 0);
    if (list.length === 0) this.#table.delete(aor);
    else this.#table.set(aor, list);
  }

  #tally(source: string, delta: number): void {
    const n = (this.#bySource.get(source) ?? 0) + delta;
    // A source with no binding left is forgotten, so the map holds no more sources than bindings.
    if (n === 0) this.#bySource.delete(source);
    else this.#bySource.set(source, n);
  }

  #rebuildQueue(): void {
    const times: number[] = [];
    const aors: string[] = [];
    for (const [aor, list] of this.#table) {
      for (const b of list) {
        times.push(b.expiresAt);
        aors.push(aor);
      }
    }
    this.#queue.rebuild(times, aors);
  }

  // Step 8: 200 with every current binding and its remaining expiry.
  #ok(aor: string, now: number): RegisterResult {
    const headers: [string, string][] = [];
    for (const b of this.#table.get(aor) ?? []) {
      const expires = Math.max(0, Math.ceil((b.expiresAt - now) / 1000));
      headers.push(["Contact", `<${b.uri}>${formatParams(b.params, "header")};expires=${expires}`]);
    }
    return { status: 200, headers };
  }

  #tooManyContacts(aor: string): RegisterResult {
    const reason = `Forbidden: too many contacts for ${_forReason(aor)} (at most ${this.options.maxContactsPerAor})`;
    return { status: 403, reason, headers: [] };
  }

  #unavailable(reason: string): RegisterResult {
    return { status: 503, reason, headers: [["Retry-After", String(this.options.retryAfter)]] };
  }
}

/** A copy of a parsed URI, so that a binding shares no object with the request it came from. */
function _copyUri(uri: Uri): Uri {
  const copy: Record<string, unknown> = { ...uri };
  if ("params" in uri) copy.params = { ...uri.params };
  if ("headers" in uri) copy.headers = { ...uri.headers };
  return copy as unknown as Uri;
}

// RFC 3261 §25.1: a Reason-Phrase holds reserved, unreserved and escaped characters, UTF-8 and
// blanks. The user part of an address of record is unescaped (§10.3 step 5) and may hold CR, LF
// or anything else, so the other ASCII characters are escaped again, and a long one is cut.
const _NOT_IN_REASON = /[^A-Za-z0-9\-_.!~*'();/?:@&=+$,\u0080-\uffff]/g;

function _forReason(aor: string): string {
  const cut = aor.length > 100 ? aor.slice(0, 100) : aor;
  const text = cut.replace(_NOT_IN_REASON, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0"));
  return cut === aor ? text : text + "...";
}

function _outOfOrder(): RegisterResult {
  // RFC 3261 §10.3 step 7: "the update MUST be aborted and the request fails".
  return { status: 500, reason: "Server Internal Error: REGISTER out of order (CSeq)", headers: [] };
}

const _SPECIAL_PARAMS = ["user", "ttl", "method", "maddr", "transport"];

/** URI equality (RFC 3261 §19.1.4). */
function _sameUri(a: Uri, b: Uri): boolean {
  if (a.scheme !== b.scheme) return false;
  if (a.scheme !== "sip" && a.scheme !== "sips") {
    return JSON.stringify(a) === JSON.stringify(b);
  }
  const x = a as SipUri;
  const y = b as SipUri;
  if (x.user !== y.user || x.password !== y.password) return false;
  if (x.host.toLowerCase() !== y.host.toLowerCase() || x.port !== y.port) return false;
  const names = new Set([...Object.keys(x.params), ...Object.keys(y.params)]);
  for (const name of names) {
    const inX = Object.hasOwn(x.params, name);
    const inY = Object.hasOwn(y.params, name);
    if (inX && inY) {
      if ((x.params[name] ?? "").toLowerCase() !== (y.params[name] ?? "").toLowerCase()) return false;
    } else if (_SPECIAL_PARAMS.includes(name)) {
      return false;
    }
  }
  const hx = Object.keys(x.headers);
  if (hx.length !== Object.keys(y.headers).length) return false;
  for (const name of hx) if (!Object.hasOwn(y.headers, name) || x.headers[name] !== y.headers[name]) return false;
  return true;
}
