/**
 * The requests the mock's UAC writes (RFC 3261 §8.1.1): the header fields every request
 * carries, a request built from them with our Via on top and the caller's headers merged in,
 * the two requests that copy their INVITE (the CANCEL, §9.1, and the ACK of a non-2xx final
 * response, §17.1.1.3), and the SDP bodies of an offer and of an answer in an ACK (RFC 3264).
 * Tags, branches and Call-IDs are random here; nothing else is.
 *
 * @module
 */

import { canonicalHeaderName } from "../../sip/headers.ts";
import { SipRequest, type SipResponse } from "../../sip/message.ts";
import type { SocketAddress } from "../../sip/routing.ts";
import { answerSdp, createOffer, formatSdp, parseSdp } from "../../media/sdp.ts";
import type { ListenTransport } from "../serve.ts";
import { _hostPort } from "./addresses.ts";

/**
 * Header fields to add to a request: a record, or pairs to repeat a name.
 *
 * @example
 * ```ts
 * import type { HeaderFields } from "@sipecho/sipecho/mock";
 * import assert from "node:assert/strict";
 *
 * const one: HeaderFields = { "User-Agent": "test/1" };
 * const repeated: HeaderFields = [["Route", "<sip:p1@192.0.2.1;lr>"], ["Route", "<sip:p2@192.0.2.2;lr>"]];
 * assert.equal(Object.keys(one).length + repeated.length, 3);
 * ```
 */
export type HeaderFields = Readonly<Record<string, string>> | readonly (readonly [string, string])[];

/** The identity of a request: the fields of RFC 3261 §8.1.1 that the UAC writes, Via aside. */
export interface _RequestIdentity {
  /** Max-Forwards (default 70, RFC 3261 §8.1.1.6). */
  maxForwards?: string;
  from: string;
  to: string;
  callId: string;
  /** `SEQ METHOD`. */
  cseq: string;
  /** One Route field each, in order. */
  routes?: readonly string[];
}

/** The fields of a request's identity, in the order the UAC writes them. */
export function _identityFields(id: _RequestIdentity): [string, string][] {
  const fields: [string, string][] = [
    ["Max-Forwards", id.maxForwards ?? "70"],
    ["From", id.from],
    ["To", id.to],
    ["Call-ID", id.callId],
    ["CSeq", id.cseq],
  ];
  for (const route of id.routes ?? []) fields.push(["Route", route]);
  return fields;
}

/** What `_buildRequest` makes a request of. */
export interface _RequestDraft {
  method: string;
  /** The Request-URI. */
  uri: string;
  transport: ListenTransport;
  /** Our address on `transport`: the Via sent-by. */
  local: SocketAddress;
  /** The UAC's own fields, Via aside; `headers` replace them by name. */
  fields: [string, string][];
  /** The caller's fields. */
  headers?: HeaderFields;
  body?: string | Uint8Array;
  contentType?: string;
}

/**
 * Builds a request: our Via on top (RFC 3261 §8.1.1.7), then the UAC's fields with the
 * caller's merged in (each replaces the first of its name; the rest are added), then
 * Content-Type for a body.
 *
 * @throws {TypeError} If the caller gives Via or Content-Length, which the UAC writes.
 */
export function _buildRequest(draft: _RequestDraft): SipRequest {
  // RFC 3261 §8.1.1.7: a new branch with the magic cookie; RFC 3581: rport asks for symmetric responses.
  const sentBy = _hostPort(draft.local.address, draft.local.port);
  const via = `SIP/2.0/${draft.transport.toUpperCase()} ${sentBy};branch=z9hG4bK${_random(16)};rport`;
  const fields: [string, string][] = [["Via", via], ...draft.fields];
  const own = fields.length;

  let contentType = draft.contentType;
  const replaced = new Set<string>();
  for (const [rawName, value] of _headerPairs(draft.headers)) {
    const name = canonicalHeaderName(rawName);
    const lower = name.toLowerCase();
    if (lower === "via" || lower === "content-length") {
      throw new TypeError(`request(): ${name} is written by the UAC, not by headers`);
    }
    if (lower === "content-type") {
      contentType = value;
      continue;
    }
    // Only the UAC's own fields are replaced; a name the caller repeats is sent each time.
    const at = fields.findIndex(([n], i) => i < own && n.toLowerCase() === lower);
    if (at >= 0 && !replaced.has(lower)) {
      replaced.add(lower);
      // RFC 3261 §8.1.1.3: the From tag is mandatory.
      fields[at] = [name, lower === "from" && !/;\s*tag=/i.test(value) ? `${value};tag=${_random(8)}` : value];
    } else {
      fields.push([name, value]);
    }
  }
  const body = draft.body;
  if (body !== undefined && body.length > 0) {
    const text = typeof body === "string" ? body : "";
    fields.push(["Content-Type", contentType ?? (/^v=0\r?\n/.test(text) ? "application/sdp" : "text/plain")]);
  }
  return new SipRequest({ method: draft.method, uri: draft.uri, headers: fields, body });
}

/**
 * The CANCEL of an INVITE (RFC 3261 §9.1): the INVITE's Request-URI, top Via, Max-Forwards,
 * From, To, Call-ID, CSeq number and Route.
 */
export function _cancelOf(invite: SipRequest): SipRequest {
  return _inInviteTransaction(invite, "CANCEL", invite.headers.get("To") ?? "", invite.headers.get("Max-Forwards"));
}

/**
 * The ACK of a non-2xx final response to an INVITE (RFC 3261 §17.1.1.3): as the CANCEL, but
 * with the To of the response (its tag) and a Max-Forwards of its own.
 */
export function _nonSuccessAckOf(invite: SipRequest, response: SipResponse): SipRequest {
  return _inInviteTransaction(invite, "ACK", response.headers.get("To") ?? invite.headers.get("To") ?? "", "70");
}

/** A request in the INVITE's own transaction: its branch, Request-URI, From, Call-ID, CSeq number and Route. */
function _inInviteTransaction(
  invite: SipRequest,
  method: "CANCEL" | "ACK",
  to: string,
  maxForwards: string | undefined,
): SipRequest {
  const fields = _identityFields({
    maxForwards: maxForwards ?? "",
    from: invite.headers.get("From") ?? "",
    to,
    callId: invite.headers.get("Call-ID") ?? "",
    cseq: `${invite.cseq.seq} ${method}`,
    routes: invite.headers.getFields("Route"),
  });
  return new SipRequest({ method, uri: invite.uri, headers: [["Via", invite.headers.getFields("Via")[0]], ...fields] });
}

/** Our SDP offer (RFC 3264 §5), media at `address`. */
export function _offerBody(address: string): string {
  return formatSdp(createOffer({
    address,
    port: 4000,
    sessionId: Math.floor(Math.random() * 0x7fffffff),
    sessionVersion: 1,
  }));
}

/** Our SDP answer (RFC 3264 §6) to an offer, media at `address`; undefined if it is not an offer we can answer. */
export function _answerBody(offer: string, address: string): string | undefined {
  try {
    const result = answerSdp(parseSdp(offer), {
      address,
      rtpPort: (index) => 4000 + 2 * index,
      sessionId: Math.floor(Math.random() * 0x7fffffff),
      sessionVersion: 1,
    });
    return result.ok ? formatSdp(result.answer) : undefined;
  } catch {
    return undefined;
  }
}

/** Random hex digits, for tags, branches and Call-IDs (RFC 3261 §19.3: at least 32 bits of randomness). */
export function _random(digits: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(digits / 2)));
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out.slice(0, digits);
}

function _headerPairs(init: HeaderFields | undefined): (readonly [string, string])[] {
  if (init === undefined) return [];
  if (Array.isArray(init)) return init as (readonly [string, string])[];
  return Object.entries(init as Record<string, string>);
}
