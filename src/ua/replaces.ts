/**
 * sipecho as the UAS of an INVITE with `Replaces` (RFC 3891 §3): the dialog it names is looked
 * up from our side (its to-tag is our local tag, its from-tag the remote one); a confirmed
 * dialog found is ended with a BYE of ours once the new INVITE is answered 2xx (dialogs.ts).
 * Internal to src/ua.
 *
 * @module
 */

import { HeaderError } from "../sip/header_values.ts";
import type { _Context, _Reject } from "./context.ts";
import type { Dialog } from "./dialog.ts";
import { parseReplaces } from "./refer.ts";
import { _phrase } from "./checks.ts";

/** What {@linkcode checkReplaces} needs of the peer. */
export interface ReplacesEnv {
  /** A dialog of ours by Call-ID, our tag and the remote tag. */
  dialog(callId: string, localTag: string, remoteTag: string): Dialog | undefined;
  /** Whether an INVITE of the remote side with these identifiers is at work (an early dialog, we are its UAS). */
  early(callId: string, localTag: string, remoteTag: string): boolean;
}

/**
 * The `Replaces` of a new request (RFC 3891 §3): the rejection when it cannot be acted on, else
 * undefined, with the dialog to end in `ctx.replaces` when one is named. A request without
 * `Replaces`, and a re-INVITE (the RFC speaks of INVITEs that make a dialog), pass unchanged.
 */
export function checkReplaces(ctx: _Context, env: ReplacesEnv): _Reject | undefined {
  const request = ctx.request;
  const values = request.headers.getAll("Replaces");
  if (values.length === 0) return undefined;
  // RFC 3891 §3: Replaces in a request other than INVITE, or more than one: 400.
  if (request.method !== "INVITE") {
    return { status: 400, reason: "Bad Request: Replaces only in an INVITE (RFC 3891 §3)" };
  }
  if (values.length > 1) return { status: 400, reason: "Bad Request: more than one Replaces (RFC 3891 §3)" };
  if (request.to.tag !== undefined) return undefined;
  let replaces;
  try {
    replaces = parseReplaces(values[0]);
  } catch (e) {
    if (e instanceof HeaderError) return { status: 400, reason: _phrase(`Bad Request: ${e.message}`) };
    throw e;
  }
  // RFC 3891 §3: the to-tag is compared with our (local) tag, the from-tag with the remote one.
  const { callId, toTag, fromTag } = replaces;
  const dialog = env.dialog(callId, toTag, fromTag);
  if (dialog === undefined) {
    // RFC 3891 §3: an early dialog this UA did not initiate (we are its UAS) cannot be
    // replaced, 481; nor can a dialog that does not exist.
    const early = env.early(callId, toTag, fromTag);
    return { status: 481, reason: early ? "Call/Transaction Does Not Exist: an early dialog" : undefined };
  }
  // RFC 3891 §3: a dialog already over, 603; a confirmed one with early-only, 486.
  if (dialog.state === "Terminated") return { status: 603, reason: "Decline: the dialog has ended" };
  if (replaces.earlyOnly) return { status: 486, reason: "Busy Here: the dialog is confirmed (early-only)" };
  ctx.replaces = dialog;
  return undefined;
}
