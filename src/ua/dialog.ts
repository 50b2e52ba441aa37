/**
 * UAS dialogs (RFC 3261 §12): created by our 2xx to an INVITE, identified by Call-ID, local
 * tag (our To tag) and remote tag (the caller's From tag), ended by BYE.
 *
 * @module
 */

import { parseContact, parseNameAddress } from "../sip/header_values.ts";
import { splitHeaderList } from "../sip/headers.ts";
import type { Transport } from "../rules/rules.ts";
import type { SessionDescription } from "../media/sdp.ts";
import { _detach } from "../sip/message.ts";
import { parseUri, type SipUri } from "../sip/uri.ts";
import { BoundedTable } from "./table.ts";
import type { SessionInterval } from "./extensions.ts";

/**
 * Where the requests of a dialog come from: the source of its INVITE. Extra fields of the
 * object given (a socket, a connection) are kept, so requests of ours can go back that way.
 *
 * @example
 * ```ts
 * import { type DialogSource } from "@sipecho/sipecho/peer";
 * import { SipPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const peer = new SipPeer();
 * const caller = { address: "192.0.2.9", port: 5062, transport: "udp" as const, socket: "udp-1" };
 * const invite = "INVITE sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5062;branch=z9hG4bK1\r\n" +
 *   "From: <sip:a@192.0.2.9>;tag=a1\r\nTo: <sip:echo@192.0.2.1>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\r\n";
 * peer.receive(new TextEncoder().encode(invite), caller, 0);
 * const source: DialogSource | undefined = peer.dialogs[0].source;
 * assert.equal(source, caller); // the very object given, extra fields and all
 * ```
 */
export interface DialogSource {
  /** IP address, without brackets. */
  address: string;
  /** Port. */
  port: number;
  /** Transport. */
  transport: Transport;
}

/**
 * Dialog states (RFC 3261 §12): a UAS dialog is `Confirmed` from its 2xx on, and
 * `Terminated` after a BYE or when the 2xx was never acknowledged.
 *
 * @example
 * ```ts
 * import { type DialogState } from "@sipecho/sipecho/peer";
 * import { SipPeer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const peer = new SipPeer();
 * const caller = { address: "192.0.2.9", port: 5060, transport: "udp" as const };
 * const send = (text: string) => peer.receive(new TextEncoder().encode(text), caller, 0);
 * const common = "From: <sip:a@192.0.2.9>;tag=a1\r\nCall-ID: c1\r\n";
 * const ok = send("INVITE sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n" + common +
 *   "To: <sip:echo@192.0.2.1>\r\nCSeq: 1 INVITE\r\n\r\n").at(-1)!;
 * const [dialog] = peer.dialogs;
 * const before: DialogState = dialog.state;
 * send("BYE sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK2\r\n" + common +
 *   `To: <sip:echo@192.0.2.1>;tag=${ok.message.to.tag}\r\nCSeq: 2 BYE\r\n\r\n`);
 * assert.deepEqual([before, dialog.state], ["Confirmed", "Terminated"]);
 * ```
 */
export type DialogState = "Confirmed" | "Terminated";

/**
 * What a {@linkcode Dialog} is made from.
 *
 * @example
 * ```ts
 * import { Dialog, type DialogInit } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * const init: DialogInit = {
 *   callId: "c1", localTag: "b", remoteTag: "a", localUri: "sip:echo@192.0.2.1", remoteUri: "sip:alice@192.0.2.9",
 *   remoteContact: "<sip:alice@192.0.2.9:5062>;expires=60", remoteSeq: 1, inviteKey: "k", sessionId: 1, createdAt: 0,
 * };
 * const dialog = new Dialog(init);
 * assert.equal(dialog.id, "c1|b|a");
 * assert.equal(dialog.remoteTarget, "sip:alice@192.0.2.9:5062");
 * ```
 */
export interface DialogInit {
  /** The Call-ID. */
  callId: string;
  /** Our tag: the To tag of our responses. */
  localTag: string;
  /** The caller's From tag (`""` for an RFC 2543 caller without one). */
  remoteTag: string;
  /** The URI in To (ours). */
  localUri: string;
  /** The URI in From (the caller's). */
  remoteUri: string;
  /** The caller's Contact URI, if any (RFC 3261 §12.1.1 remote target). */
  remoteTarget?: string;
  /**
   * Instead of `remoteTarget`: the caller's Contact header field value as received, whose
   * first URI becomes the remote target when first read (most dialogs never need it parsed).
   */
  remoteContact?: string;
  /** The CSeq number of the INVITE (the remote sequence number). */
  remoteSeq: number;
  /**
   * The Record-Route field values of the INVITE as received, in order: the route set
   * (RFC 3261 §12.1.1), read when first needed.
   */
  recordRoute?: readonly string[];
  /** Where the INVITE came from. */
  source?: DialogSource;
  /** The key of the INVITE server transaction that sent the 2xx. */
  inviteKey: string;
  /** Our SDP offer when the INVITE had none; the answer comes in the ACK. */
  offer?: SessionDescription;
  /** The `o=` session id of our SDP. */
  sessionId: number;
  /** When the 2xx was sent, ms. */
  createdAt: number;
}

/**
 * The identifier of a dialog (RFC 3261 §12): Call-ID, local tag and remote tag.
 *
 * @param callId The Call-ID.
 * @param localTag Our tag.
 * @param remoteTag The peer's tag.
 * @returns A string key.
 * @example
 * ```ts
 * import { dialogId } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 * assert.equal(dialogId("c1", "ours", "theirs"), "c1|ours|theirs");
 * ```
 */
export function dialogId(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}|${localTag}|${remoteTag}`;
}

/**
 * One UAS dialog.
 *
 * @example
 * ```ts
 * import { Dialog } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * const d = new Dialog({
 *   callId: "c1", localTag: "b", remoteTag: "a", localUri: "sip:echo@h", remoteUri: "sip:alice@h",
 *   remoteSeq: 1, inviteKey: "k", sessionId: 1, createdAt: 0,
 * });
 * assert.equal(d.id, "c1|b|a");
 * assert.equal(d.checkSequence(2), true);
 * assert.equal(d.checkSequence(1), false);
 * ```
 */
export class Dialog {
  /** {@linkcode dialogId} of the dialog. */
  readonly id: string;
  /** The Call-ID. */
  readonly callId: string;
  /** Our tag. */
  readonly localTag: string;
  /** The caller's tag. */
  readonly remoteTag: string;
  /** Our URI (To). */
  readonly localUri: string;
  /** The caller's URI (From). */
  readonly remoteUri: string;
  /** The Contact value to read the remote target from, until it is read. */
  #contact: string | undefined;
  #remoteTarget: string | undefined;
  /** The highest CSeq number seen from the caller. */
  remoteSeq: number;
  /**
   * The CSeq number of our last request in the dialog; 0 until we send one (RFC 3261 §12.1.1:
   * a UAS dialog starts with no local sequence number).
   */
  localSeq = 0;
  /** Where the caller's requests come from (its INVITE, or its latest re-INVITE). */
  source: DialogSource | undefined;
  #recordRoute: readonly string[] | undefined;
  #routeSet: string[] | undefined = undefined;
  /** Whether the dialog holds RTP ports (given by the peer's `rtpPort` hook). */
  media = false;
  /** The key of the INVITE server transaction whose 2xx is awaiting (or got) its ACK. */
  inviteKey: string;
  /** Our SDP offer, when the INVITE had none. */
  offer: SessionDescription | undefined;
  /**
   * What was wrong with the SDP answer in the ACK: `undefined` until an ACK with an answer
   * to our offer is seen, `null` if the answer was valid (RFC 3264 §6), else the problem.
   */
  answerProblem: string | null | undefined;
  /** The `o=` session id of our SDP. */
  readonly sessionId: number;
  /** The `o=` version of our last SDP (incremented for each new answer, RFC 3264 §8). */
  sessionVersion = 1;
  /** `Confirmed` or `Terminated`. */
  state: DialogState = "Confirmed";
  /** Whether the ACK for the latest 2xx arrived. */
  acked = false;
  /** When the 2xx was sent, ms. */
  readonly createdAt: number;
  /** When the last request in the dialog (or its ACK) came, ms: an idle dialog is ended. */
  lastRequestAt: number;
  /**
   * The session interval in force (RFC 4028), set by the 2xx to the INVITE or to the latest
   * refresh (re-INVITE or UPDATE); undefined when the session has no timer.
   */
  sessionTimer: SessionInterval | undefined = undefined;
  /**
   * Our last SDP in the dialog, kept only when we refresh the session by re-INVITE (a rule's
   * `timer.method`), which carries it unchanged (RFC 3264 §8); undefined: refresh by UPDATE.
   */
  refreshSdp: string | undefined = undefined;

  /**
   * Makes a dialog in the Confirmed state.
   *
   * @param init Identifiers and state.
   */
  constructor(init: DialogInit) {
    // Copies: a dialog lasts, and a string cut from the INVITE would keep the whole INVITE.
    this.callId = _detach(init.callId);
    this.localTag = _detach(init.localTag);
    this.remoteTag = _detach(init.remoteTag);
    this.id = dialogId(this.callId, this.localTag, this.remoteTag);
    this.localUri = _detach(init.localUri);
    this.remoteUri = _detach(init.remoteUri);
    this.#remoteTarget = init.remoteTarget === undefined ? undefined : _detach(init.remoteTarget);
    this.#contact = init.remoteTarget === undefined && init.remoteContact !== undefined
      ? _detach(init.remoteContact)
      : undefined;
    this.remoteSeq = init.remoteSeq;
    this.#recordRoute = init.recordRoute?.map(_detach);
    this.source = init.source;
    this.inviteKey = init.inviteKey;
    this.offer = init.offer;
    this.sessionId = init.sessionId;
    this.createdAt = init.createdAt;
    this.lastRequestAt = init.createdAt;
  }

  /** The caller's Contact URI (RFC 3261 §12.1.1 remote target), if any. */
  get remoteTarget(): string | undefined {
    if (this.#contact !== undefined) {
      this.#remoteTarget = _firstUri(this.#contact);
      this.#contact = undefined;
    }
    return this.#remoteTarget;
  }

  set remoteTarget(target: string | undefined) {
    this.#contact = undefined;
    this.#remoteTarget = target;
  }

  /**
   * The route set (RFC 3261 §12.1.1): the URIs of the INVITE's Record-Route, in order, with
   * their parameters; empty without Record-Route. A value that cannot be read is left out.
   *
   * @example
   * ```ts
   * import { Dialog } from "@sipecho/sipecho/peer";
   * import assert from "node:assert/strict";
   *
   * const d = new Dialog({
   *   callId: "c1", localTag: "b", remoteTag: "a", localUri: "sip:echo@h", remoteUri: "sip:alice@h",
   *   remoteSeq: 1, inviteKey: "k", sessionId: 1, createdAt: 0,
   *   recordRoute: ["<sip:p1.example.com;lr>, <sip:p2.example.com;lr>;x=1"],
   * });
   * assert.deepEqual(d.routeSet, ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]);
   * ```
   */
  get routeSet(): readonly string[] {
    if (this.#routeSet === undefined) {
      const routes: string[] = [];
      for (const field of this.#recordRoute ?? []) {
        for (const value of splitHeaderList(field)) {
          try {
            routes.push(parseNameAddress(value, "Record-Route").uri);
          } catch {
            // Unreadable: left out.
          }
        }
      }
      this.#routeSet = routes;
      this.#recordRoute = undefined;
    }
    return this.#routeSet;
  }

  /**
   * Checks and records the CSeq number of a request in the dialog (RFC 3261 §12.2.2): lower
   * than the remote sequence number means out of order (answered 500).
   *
   * @param seq The CSeq number of the request.
   * @returns False if the request is out of order.
   */
  checkSequence(seq: number): boolean {
    if (seq < this.remoteSeq) return false;
    this.remoteSeq = seq;
    return true;
  }
}

/** The URI of the first value of a Contact field; undefined for `*` or a value that cannot be read. */
function _firstUri(field: string): string | undefined {
  const value = field.indexOf(",") < 0 ? field.trim() : splitHeaderList(field)[0];
  if (value === "*" || value === "") return undefined;
  try {
    return parseContact(value).uri;
  } catch {
    return undefined;
  }
}

/**
 * A bounded table of dialogs by id (a {@linkcode BoundedTable} keyed by {@linkcode dialogId}):
 * `add` refuses a new dialog when full.
 *
 * @example
 * ```ts
 * import { Dialog, DialogTable } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * const table = new DialogTable(1);
 * const init = { localUri: "sip:b@h", remoteUri: "sip:a@h", remoteSeq: 1, inviteKey: "k", sessionId: 1, createdAt: 0 };
 * assert.equal(table.add(new Dialog({ ...init, callId: "c1", localTag: "b", remoteTag: "a" })), true);
 * assert.equal(table.add(new Dialog({ ...init, callId: "c2", localTag: "b", remoteTag: "a" })), false);
 * assert.equal(table.get("c1", "b", "a")?.callId, "c1");
 * ```
 */
export class DialogTable extends BoundedTable<string, Dialog> {
  /**
   * Makes an empty table.
   *
   * @param limit The most dialogs held.
   */
  constructor(limit: number) {
    super(limit, (dialog) => dialog.id);
  }

  /**
   * Finds a dialog by its id.
   * @param id The id, from {@linkcode dialogId}.
   * @returns The dialog, or undefined.
   */
  override get(id: string): Dialog | undefined;
  /**
   * Finds a dialog by the three values that make its id (RFC 3261 §12).
   * @param callId The Call-ID.
   * @param localTag Our tag (the request's To tag).
   * @param remoteTag The caller's tag (the request's From tag).
   * @returns The dialog, or undefined.
   */
  override get(callId: string, localTag: string, remoteTag: string): Dialog | undefined;
  override get(callId: string, localTag?: string, remoteTag?: string): Dialog | undefined {
    return super.get(localTag === undefined ? callId : dialogId(callId, localTag, remoteTag ?? ""));
  }

  /**
   * Adds a dialog. One made again under an id held takes that one's place even when the
   * table is full: it needs no more room.
   * @param dialog The dialog.
   * @returns False (and nothing added) when the table is full of other dialogs.
   */
  override add(dialog: Dialog): boolean {
    const held = super.get(dialog.id);
    return held === undefined ? super.add(dialog) : this.replace(held, dialog);
  }

  /**
   * Removes a dialog, if it is the one held under its id, and marks it Terminated.
   * @param dialog The dialog.
   * @returns Whether it was removed.
   */
  override delete(dialog: Dialog): boolean {
    dialog.state = "Terminated";
    return super.delete(dialog);
  }
}

/** The user part of our URI in a dialog (for the Contact of a request of ours); none for a URI that is not sip/sips. */
export function _localUser(dialog: Dialog): string | undefined {
  try {
    const uri = parseUri(dialog.localUri);
    return uri.scheme === "sip" || uri.scheme === "sips" ? (uri as SipUri).user : undefined;
  } catch {
    return undefined;
  }
}
