/**
 * The checks a UAS makes of a request before it acts on it (RFC 3261 §8.2): the method, the To
 * URI scheme, Require, the body's encoding and type, Accept; and, for a request inside a
 * dialog, that the dialog exists and the CSeq is in order (§12.2.2); and which errors mean a
 * malformed request (answered 400) rather than a broken peer. Internal to src/ua.
 *
 * @module
 */

import { SdpError, type SessionDescription } from "../media/sdp.ts";
import { HeaderError } from "../sip/header_values.ts";
import type { SipRequest } from "../sip/message.ts";
import { UriError } from "../sip/uri.ts";
import type { _Context, _Reject } from "./context.ts";
import type { Dialog } from "./dialog.ts";

/** The methods the peer implements (RFC 3261 §20.5 Allow). */
export const ALLOW = [
  "INVITE",
  "ACK",
  "CANCEL",
  "BYE",
  "OPTIONS",
  "REGISTER",
  "MESSAGE",
  "INFO",
  "UPDATE",
  "PRACK",
  "NOTIFY",
  "SUBSCRIBE",
  // RFC 3515: inside a dialog (see refer.ts).
  "REFER",
];
export const ALLOW_VALUE = ALLOW.join(", ");
/** Methods the peer knows but declines: 405 with Allow (RFC 3261 §8.2.1). */
export const DECLINED = ["PUBLISH"];
/** Methods that only make sense inside a dialog (RFC 6086, RFC 3311, RFC 3262, RFC 6665). */
export const DIALOG_ONLY = ["BYE", "INFO", "UPDATE", "PRACK", "NOTIFY"];
/** Methods whose body the peer reads as an SDP offer. */
export const SDP_METHODS = ["INVITE", "UPDATE"];

/** What {@linkcode checkRequest} needs of the peer. */
export interface CheckEnv {
  /** Option tags the peer supports (§8.2.2.3). */
  supported: readonly string[];
  /** Parses an SDP offer (throws SdpError). */
  parseOffer(body: Uint8Array): SessionDescription;
  /** The peer's host and port, for a Warning. */
  hostport: string;
  /** A stateless peer keeps no dialog to look a request up in (§8.2.7). */
  stateless: boolean;
  /** The dialog a request is in, by Call-ID and tags. */
  dialogOf(request: SipRequest): Dialog | undefined;
  /** A request was found to be in one of our dialogs. */
  inDialog(dialog: Dialog): void;
}

/**
 * The checks of RFC 3261 §8.2.1 to §8.2.3, in that order, then the dialog of a request inside
 * one (§12.2.2), for the built-in behaviour: the final answer when one fails, else undefined
 * (the offer, if any, is then in `ctx.offer` and the dialog in `ctx.dialog`).
 */
export function checkRequest(ctx: _Context, env: CheckEnv): _Reject | undefined {
  const request = ctx.request;
  const method = request.method;
  // §8.2.1: method inspection.
  if (DECLINED.includes(method)) return { status: 405, headers: [["Allow", ALLOW_VALUE]] };
  if (!ALLOW.includes(method)) return { status: 501 };
  // §8.2.2.1: a To URI of a scheme we do not know (REGISTER: the registrar says 400).
  const toScheme = request.to.parsedUri.scheme;
  if (method !== "REGISTER" && toScheme !== "sip" && toScheme !== "sips" && toScheme !== "tel") {
    return { status: 416, reason: `Unsupported URI Scheme in To: ${toScheme}` };
  }
  // The headers below matter only when present: one look at the field names finds them.
  let require = false;
  let encoding = false;
  let accept = false;
  let contentType: string | undefined;
  for (const field of request.headers.fields) {
    const name = field.name;
    if (name === "Require") require = true;
    else if (name === "Content-Encoding") encoding = true;
    else if (name === "Accept") accept = true;
    else if (name === "Content-Type") contentType ??= field.value;
  }
  // §8.2.2.3: Require.
  if (require) {
    const unsupported = request.require.filter((tag) => !env.supported.includes(tag));
    if (unsupported.length > 0) return { status: 420, headers: [["Unsupported", unsupported.join(", ")]] };
  }
  // §8.2.3: content processing.
  if (encoding) {
    const encodings = request.headers.getAll("Content-Encoding").map((e) => e.toLowerCase());
    if (encodings.some((e) => e !== "identity" && e !== "")) {
      return {
        status: 415,
        reason: "Unsupported Media Type: Content-Encoding",
        headers: [["Accept-Encoding", "identity"]],
      };
    }
  }
  if (SDP_METHODS.includes(method) && request.body.length > 0) {
    // The usual value needs no parsing.
    const type = contentType === "application/sdp" ? contentType : request.contentType?.mediaType;
    if (type === undefined) return { status: 400, reason: "Bad Request: a body without Content-Type" };
    if (type !== "application/sdp") {
      return { status: 415, headers: [["Accept", "application/sdp"]] };
    }
    try {
      ctx.offer = env.parseOffer(request.body);
    } catch (e) {
      if (e instanceof SdpError) return { status: 400, reason: _phrase(`Bad Request: ${e.message}`) };
      throw e;
    }
  }
  // RFC 4475 §3.3.15 (sdp01): an INVITE whose Accept leaves out SDP cannot be answered.
  if (method === "INVITE" && accept && !_accepts(request, "application/sdp")) {
    return {
      status: 406,
      headers: [["Accept", "application/sdp"], ["Warning", `399 ${env.hostport} "only application/sdp bodies"`]],
    };
  }
  // §12.2.2: requests inside a dialog need the dialog, in order.
  const inDialog = request.to.tag !== undefined && method !== "REGISTER";
  if (inDialog) {
    // §8.2.7: a stateless UAS keeps no dialog to look the request up in.
    if (env.stateless) return undefined;
    const dialog = env.dialogOf(request);
    if (dialog === undefined) return { status: 481 };
    env.inDialog(dialog);
    if (!dialog.checkSequence(request.cseq.seq)) {
      return { status: 500, reason: "Server Internal Error: CSeq out of order", headers: [["Retry-After", "1"]] };
    }
    ctx.dialog = dialog;
  } else if (DIALOG_ONLY.includes(method)) {
    return { status: 481 };
  }
  return undefined;
}

/** A reason phrase from an error message: one line, at most 200 characters. */
export function _phrase(text: string): string {
  const line = text.replace(/[\r\n\t]+/g, " ");
  return line.length > 200 ? line.slice(0, 197) + "..." : line;
}

/** Whether the request's Accept allows a media type (RFC 3261 §20.1; an empty Accept allows nothing). */
export function _accepts(request: SipRequest, mediaType: string): boolean {
  const [type] = mediaType.split("/");
  for (const value of request.headers.getAll("Accept")) {
    const range = value.split(";")[0].trim().toLowerCase();
    if (range === mediaType || range === "*/*" || range === `${type}/*`) return true;
  }
  return false;
}

/** Errors that mean the request is malformed (answered 400), not that the peer is broken. */
export function _isInputError(e: unknown): e is Error {
  return e instanceof HeaderError || e instanceof UriError || e instanceof SdpError;
}
