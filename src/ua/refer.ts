/**
 * Transfer (RFC 3515): a REFER inside a dialog is answered 202 Accepted and makes the implicit
 * `refer` subscription (RFC 6665), whose NOTIFYs carry the progress of the referenced request
 * as a `message/sipfrag` (RFC 3420): `SIP/2.0 100 Trying` at once, then the final status, the
 * last with `Subscription-State: terminated;reason=noresource`. `Refer-Sub: false` (RFC 4488)
 * asks for no subscription: the 202 says `Refer-Sub: false` and no NOTIFY is sent. The Refer-To
 * URI is read (a `Replaces` in its headers, RFC 3891 §6.1, parsed), and so is Referred-By (RFC
 * 3892 §5), for the `refer` hook; sipecho does not itself call anyone unless told to (the
 * outcome comes from {@linkcode ReferNotifier.outcome}).
 *
 * @module
 */

import { HeaderError, parseNameAddress } from "../sip/header_values.ts";
import type { SipRequest } from "../sip/message.ts";
import { reasonPhrase } from "../sip/reason_phrases.ts";
import { _phrase } from "./checks.ts";
import type { _Context, _Reject } from "./context.ts";
import type { Dialog } from "./dialog.ts";
import type { Job, Scheduler } from "./scheduler.ts";
import type { _EventDetails, PeerEvent, Remote } from "./types.ts";

/**
 * A `Replaces` header field value (RFC 3891 §6.1): the dialog it names, and `early-only`.
 *
 * @example
 * ```ts
 * import { parseReplaces, type Replaces } from "./refer.ts";
 * import assert from "node:assert/strict";
 *
 * const r: Replaces = parseReplaces("425928@bobster.example.org;to-tag=7743;from-tag=6472");
 * assert.deepEqual(r, { callId: "425928@bobster.example.org", toTag: "7743", fromTag: "6472", earlyOnly: false });
 * ```
 */
export interface Replaces {
  /** The Call-ID of the dialog to replace. */
  callId: string;
  /** Its `to-tag`. */
  toTag: string;
  /** Its `from-tag`. */
  fromTag: string;
  /** `early-only`: replace only an early dialog. */
  earlyOnly: boolean;
}

/**
 * Reads a `Replaces` value (RFC 3891 §6.1: `callid *(SEMI replaces-param)`, with `to-tag` and
 * `from-tag` required).
 *
 * @param value The header field value (unescaped, as in a Refer-To URI's headers).
 * @returns The dialog it names.
 * @throws {HeaderError} When the Call-ID or a tag is missing.
 * @example
 * ```ts
 * import { parseReplaces } from "./refer.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseReplaces("c1;from-tag=a;to-tag=b;early-only").earlyOnly, true);
 * assert.throws(() => parseReplaces("c1;to-tag=b"), /from-tag/);
 * ```
 */
export function parseReplaces(value: string): Replaces {
  const [callId, ...params] = value.split(";").map((part) => part.trim());
  if (callId === "") throw new HeaderError("Replaces", "no Call-ID");
  let toTag: string | undefined;
  let fromTag: string | undefined;
  let earlyOnly = false;
  for (const param of params) {
    const eq = param.indexOf("=");
    const name = (eq < 0 ? param : param.slice(0, eq)).toLowerCase();
    const v = eq < 0 ? "" : param.slice(eq + 1);
    if (name === "to-tag") toTag = v;
    else if (name === "from-tag") fromTag = v;
    else if (name === "early-only") earlyOnly = true;
  }
  if (toTag === undefined) throw new HeaderError("Replaces", "no to-tag parameter");
  if (fromTag === undefined) throw new HeaderError("Replaces", "no from-tag parameter");
  return { callId, toTag, fromTag, earlyOnly };
}

/**
 * What a REFER asks (RFC 3515 §2.1): the URI to send the referenced request to, with a
 * `Replaces` from its headers (RFC 3891 §6.1) and the Referred-By of the REFER (RFC 3892 §5).
 *
 * @example
 * ```ts
 * import { parseReferTo, type ReferTarget } from "./refer.ts";
 * import assert from "node:assert/strict";
 *
 * const target: ReferTarget = parseReferTo("<sip:carol@192.0.2.7>");
 * assert.deepEqual(target, { uri: "sip:carol@192.0.2.7" });
 * ```
 */
export interface ReferTarget {
  /** The Refer-To URI, as written (its headers included). */
  uri: string;
  /** The dialog a `Replaces` in the URI's headers names (RFC 3891), if any. */
  replaces?: Replaces;
  /** The Referred-By URI of the REFER (RFC 3892), if any. */
  referredBy?: string;
}

/**
 * Reads a Refer-To value (RFC 3515 §2.1: a name-addr or addr-spec) and the `Replaces` in its
 * URI's headers, if any.
 *
 * @param value The Refer-To header field value.
 * @param referredBy The Referred-By value of the REFER, if any (only its URI is kept).
 * @returns The target.
 * @throws {HeaderError} When the value, its Replaces or the Referred-By cannot be read.
 * @example
 * ```ts
 * import { parseReferTo } from "./refer.ts";
 * import assert from "node:assert/strict";
 *
 * const t = parseReferTo("<sip:bob@192.0.2.8?Replaces=c9%3Bto-tag%3D1%3Bfrom-tag%3D2>", "<sip:alice@192.0.2.9>");
 * assert.equal(t.replaces?.callId, "c9");
 * assert.equal(t.replaces?.toTag, "1");
 * assert.equal(t.referredBy, "sip:alice@192.0.2.9");
 * assert.throws(() => parseReferTo("<not a uri"));
 * ```
 */
export function parseReferTo(value: string, referredBy?: string): ReferTarget {
  const to = parseNameAddress(value.trim(), "Refer-To");
  const target: ReferTarget = { uri: to.uri };
  const headers = (to.parsedUri as { headers?: Record<string, string> }).headers ?? {};
  for (const [name, v] of Object.entries(headers)) {
    if (name.toLowerCase() === "replaces") target.replaces = parseReplaces(v);
  }
  if (referredBy !== undefined) target.referredBy = parseNameAddress(referredBy.trim(), "Referred-By").uri;
  return target;
}

/**
 * The most `refer` subscriptions in progress in one dialog (a REFER over it is answered 503
 * with Retry-After): each holds a NOTIFY client transaction and a timer.
 *
 * @example
 * ```ts
 * import { MAX_REFER_SUBSCRIPTIONS } from "./refer.ts";
 * import assert from "node:assert/strict";
 * assert.equal(MAX_REFER_SUBSCRIPTIONS, 4);
 * ```
 */
export const MAX_REFER_SUBSCRIPTIONS = 4;

/**
 * How long a `refer` subscription waits for the outcome of the referenced request, seconds: its
 * `Subscription-State: active;expires=` (RFC 6665 §4.2.2). When the outcome has not come by
 * then, the last NOTIFY says `SIP/2.0 408 Request Timeout`, `terminated;reason=timeout`.
 *
 * @example
 * ```ts
 * import { REFER_EXPIRES } from "./refer.ts";
 * import assert from "node:assert/strict";
 * assert.equal(REFER_EXPIRES, 60);
 * ```
 */
export const REFER_EXPIRES = 60;

/**
 * A REFER accepted with a subscription whose outcome the caller of the peer reports (the
 * `onRefer` hook): who to call, and the id to give {@linkcode ReferNotifier.outcome}.
 *
 * @example
 * ```ts
 * import type { ReferRequest } from "./refer.ts";
 * const r: ReferRequest = { id: "c1|b|a|2", callId: "c1", target: { uri: "sip:carol@192.0.2.7" } };
 * void r;
 * ```
 */
export interface ReferRequest {
  /** The subscription: Call-ID, tags and the REFER's CSeq number. */
  id: string;
  /** The Call-ID of the dialog the REFER came in. */
  callId: string;
  /** What the REFER asks. */
  target: ReferTarget;
}

/** What {@linkcode ReferNotifier} needs of the peer. */
export interface ReferHost {
  jobs: Scheduler;
  /**
   * Sends a request of ours in `dialog` through a client transaction; `done` gets its final
   * status (0: none came, Timer F). False when it cannot be sent (the dialog is over).
   */
  send(
    dialog: Dialog,
    method: string,
    extra: string[],
    body: [string, string] | undefined,
    at: number,
    done: (status: number, at: number) => void,
  ): boolean;
  event(kind: PeerEvent["kind"], message: string, remote?: Remote, details?: _EventDetails): void;
  /** Called for a REFER whose outcome the caller reports; absent: the outcome is 200 at once. */
  onRefer: ((refer: ReferRequest) => void) | undefined;
}

/** One implicit subscription (RFC 3515 §2.4.4). */
interface _Subscription {
  readonly id: string;
  readonly dialog: Dialog;
  /** The REFER's CSeq number: the `id` of `Event: refer` (RFC 3515 §2.4.6). */
  readonly seq: number;
  /** The NOTIFYs still to send: [sipfrag status line, terminated]. */
  readonly queue: [string, string | undefined][];
  /** A NOTIFY's transaction is at work: the next waits (one at a time, in order). */
  busy: boolean;
  /** The final NOTIFY is queued or sent. */
  final: boolean;
  expiry: Job | undefined;
}

/** The `refer` subscriptions of the peer's dialogs (see the module documentation). Internal to src/ua. */
export class ReferNotifier {
  readonly #h: ReferHost;
  #subs = new Map<string, _Subscription>();
  #perDialog = new Map<Dialog, number>();

  constructor(host: ReferHost) {
    this.#h = host;
  }

  /**
   * A REFER in a dialog (built-in behaviour): 202 and a subscription, or why not (400 for a
   * missing or unreadable Refer-To, 403 outside a dialog, 503 over the limit).
   * `call`: whether the outcome is reported through `onRefer` (else 200 at once).
   */
  accept(ctx: _Context, at: number, call = true): _Reject {
    const request = ctx.request;
    const dialog = ctx.dialog;
    // RFC 3515 §2.4.1 lets a REFER outside a dialog make one; sipecho has nothing to transfer there.
    if (dialog === undefined) {
      return { status: 403, reason: "Forbidden: sipecho takes REFER only inside a call (RFC 3515 §2.4.1)" };
    }
    let target: ReferTarget;
    try {
      target = _target(request);
    } catch (e) {
      if (!(e instanceof HeaderError)) throw e;
      return { status: 400, reason: _phrase(`Bad Request: ${e.message}`) };
    }
    // RFC 4488 §4: a REFER with Refer-Sub: false asks for no subscription; the 2xx says so.
    if ((request.headers.get("Refer-Sub") ?? "").trim().toLowerCase() === "false") {
      this.#h.event(
        "rule",
        `REFER ${request.callId}: to ${target.uri}, no subscription (Refer-Sub: false)`,
        ctx.remote,
        {
          callId: request.callId,
        },
      );
      return { status: 202, headers: [["Refer-Sub", "false"]] };
    }
    const held = this.#perDialog.get(dialog) ?? 0;
    if (held >= MAX_REFER_SUBSCRIPTIONS) {
      return {
        status: 503,
        reason: `Service Unavailable: ${MAX_REFER_SUBSCRIPTIONS} transfers already in progress in this call`,
        headers: [["Retry-After", "5"]],
      };
    }
    const seq = request.cseq.seq;
    const id = `${dialog.id}|${seq}`;
    if (this.#subs.has(id)) return { status: 202 };
    const sub: _Subscription = { id, dialog, seq, queue: [], busy: false, final: false, expiry: undefined };
    this.#subs.set(id, sub);
    this.#perDialog.set(dialog, held + 1);
    this.#h.event("rule", `REFER ${request.callId}: to ${target.uri}: 202, NOTIFY 100 Trying`, ctx.remote, {
      callId: request.callId,
    });
    // RFC 3515 §2.4.4: a NOTIFY at once, with what is known (the request is being tried).
    this.#push(sub, "SIP/2.0 100 Trying", undefined, at);
    const onRefer = this.#h.onRefer;
    if (onRefer !== undefined && call) {
      sub.expiry = this.#h.jobs.schedule(at + REFER_EXPIRES * 1000, (when) => {
        sub.expiry = undefined;
        this.#finish(sub, 408, when, "timeout");
      });
      onRefer({ id, callId: dialog.callId, target });
    } else {
      this.#finish(sub, 200, at);
    }
    return { status: 202 };
  }

  /**
   * The outcome of the referenced request: the last NOTIFY carries it (RFC 3515 §2.4.5). A
   * 1xx is sent as progress and the subscription goes on.
   *
   * @returns False when the subscription is unknown or already ended.
   */
  outcome(id: string, status: number, at: number): boolean {
    const sub = this.#subs.get(id);
    if (sub === undefined || sub.final) return false;
    if (status < 200) {
      this.#push(sub, `SIP/2.0 ${status} ${_reason(status)}`, undefined, at);
      return true;
    }
    this.#finish(sub, status, at);
    return true;
  }

  /** How many subscriptions are in progress. */
  get size(): number {
    return this.#subs.size;
  }

  /** Forgets every subscription (the peer closes). */
  clear(): void {
    this.#subs.clear();
    this.#perDialog.clear();
  }

  #finish(sub: _Subscription, status: number, at: number, reason = "noresource"): void {
    if (sub.final) return;
    sub.final = true;
    sub.expiry?.cancel();
    sub.expiry = undefined;
    this.#push(sub, `SIP/2.0 ${status} ${_reason(status)}`, reason, at);
  }

  #push(sub: _Subscription, line: string, terminated: string | undefined, at: number): void {
    sub.queue.push([line, terminated]);
    if (!sub.busy) this.#next(sub, at);
  }

  /** Sends the next NOTIFY of the subscription, if any; the one after waits for its answer. */
  #next(sub: _Subscription, at: number): void {
    const item = sub.queue.shift();
    if (item === undefined) return;
    const [line, terminated] = item;
    const state = terminated === undefined ? `active;expires=${REFER_EXPIRES}` : `terminated;reason=${terminated}`;
    const extra = [`Event: refer;id=${sub.seq}`, `Subscription-State: ${state}`];
    sub.busy = true;
    const sent = this.#h.send(
      sub.dialog,
      "NOTIFY",
      extra,
      ["message/sipfrag;version=2.0", line + "\r\n"],
      at,
      (status, when) => {
        sub.busy = false;
        // RFC 6665 §4.2.2: a NOTIFY answered 481, or not at all, ends the subscription.
        if (status >= 200 && status < 300 && terminated === undefined) return this.#next(sub, when);
        if (status < 200 || status >= 300) {
          this.#h.event(
            "timeout",
            `NOTIFY ${sub.dialog.callId}: ${status === 0 ? "no answer" : status}: subscription ended`,
          );
        }
        this.#end(sub);
      },
    );
    if (!sent) {
      sub.busy = false;
      this.#end(sub);
    }
  }

  #end(sub: _Subscription): void {
    if (this.#subs.get(sub.id) !== sub) return;
    sub.expiry?.cancel();
    this.#subs.delete(sub.id);
    const held = (this.#perDialog.get(sub.dialog) ?? 1) - 1;
    if (held <= 0) this.#perDialog.delete(sub.dialog);
    else this.#perDialog.set(sub.dialog, held);
  }
}

/** The Refer-To of a REFER (exactly one, RFC 3515 §2.4.1) and its Referred-By. */
function _target(request: SipRequest): ReferTarget {
  const values = request.headers.getAll("Refer-To");
  if (values.length === 0) throw new HeaderError("Refer-To", "missing (RFC 3515 §2.4.1)");
  if (values.length > 1) throw new HeaderError("Refer-To", "more than one (RFC 3515 §2.4.1)");
  return parseReferTo(values[0], request.headers.get("Referred-By"));
}

/** The standard reason phrase of a status, for a sipfrag status line. */
function _reason(status: number): string {
  return reasonPhrase(status);
}
