/**
 * The peer's dialogs (RFC 3261 §12): the table, each source's share of it, the look for
 * dialogs idle too long, and the BYE the peer sends to end one (§15.1.1) with its client
 * transaction (§17.1.2): its resends and the requests the peer makes on its own wait in a
 * queue the caller takes (`SipPeer.takeRequests()`). What a 2xx of ours does to them: the
 * dialog of an INVITE made (§12.1.1) or updated by a re-INVITE (§14.2), one ended by BYE; and
 * the session interval our 2xx agrees to (RFC 4028 §9), whose timers and refreshes are in
 * session_timer.ts. Internal to src/ua.
 *
 * @module
 */

import type { TransferSpec } from "../rules/call_flows.ts";
import { parseMessage } from "../sip/parse.ts";
import type { SipRequest, SipResponse } from "../sip/message.ts";
import { ClientTransaction } from "./client.ts";
import type { _Context } from "./context.ts";
import { _localUser, Dialog, DialogTable } from "./dialog.ts";
import type { SourceGuard, SourceRecord } from "./guard.ts";
import type { Replies } from "./replies.ts";
import { SessionTimers } from "./session_timer.ts";
import type { Job, Scheduler } from "./scheduler.ts";
import type { _EventDetails, PeerEvent, PeerRequest, PeerTimers, Remote, RtpReleaseReason } from "./types.ts";

/** What {@linkcode Dialogs} needs of the peer. */
export interface DialogsHost {
  /** Most dialogs. */
  limit: number;
  timers: PeerTimers;
  guard: SourceGuard | undefined;
  jobs: Scheduler;
  replies: Replies;
  event(kind: PeerEvent["kind"], message: string, remote?: Remote, details?: _EventDetails): void;
  /** A random tag (for a branch). */
  tag(): string;
  /** A dialog ends before the ACK of its INVITE's 2xx: its resends stop. */
  stopInvite(dialog: Dialog, at: number): void;
  /** A holder of RTP ports is done. */
  releaseMedia(callId: string, reason: RtpReleaseReason): void;
  /** A dialog made by a 2xx whose rule has `transfer` (transfer.ts). */
  transfer?(dialog: Dialog, spec: TransferSpec, at: number): void;
}

/** The client transaction of a request the peer sent (its BYE), on the peer's clock. */
interface _Client {
  readonly request: PeerRequest;
  readonly machine: ClientTransaction;
  job: Job | undefined;
  /** The dialog a refresh (UPDATE) is for; its final response or timeout is acted on. */
  readonly refresh?: Dialog;
  /** Told the final status of another request of ours (NOTIFY, REFER; see refer.ts); 0: none came. */
  readonly done?: (status: number, at: number) => void;
  /** A re-INVITE's: the ACK of its 2xx, sent again for each 2xx resent (RFC 3261 §13.2.2.4). */
  ack?: PeerRequest;
}

/** Parser options of the peer's own BYE (read back from its bytes). */
const DATAGRAM = { stream: false };
const _encoder = new TextEncoder();

/** The peer's dialogs (see the module documentation). */
export class Dialogs {
  readonly #h: DialogsHost;
  readonly #table: DialogTable;
  /** The source each dialog counts against, with a guard. */
  #sources = new Map<Dialog, SourceRecord>();
  /** The job that looks for idle dialogs, while there are dialogs. */
  #sweep: Job | undefined = undefined;
  /** The client transactions of the peer's own requests (its BYEs), by branch. */
  #clients = new Map<string, _Client>();
  /** Requests the peer made on its own (the BYE of an idle dialog, resends), until taken. */
  #requests: PeerRequest[] = [];
  /** The session timer of each dialog, and our refreshes (RFC 4028, session_timer.ts). */
  readonly #timers: SessionTimers;

  constructor(host: DialogsHost) {
    this.#h = host;
    this.#table = new DialogTable(host.limit);
    this.#timers = new SessionTimers({
      jobs: host.jobs,
      replies: host.replies,
      event: (kind, message, remote, details) => host.event(kind, message, remote, details),
      tag: () => host.tag(),
      alive: (dialog) => this.#table.get(dialog.callId, dialog.localTag, dialog.remoteTag) === dialog,
      bye: (dialog, at) => {
        this.#requests.push(...this.bye(dialog, at));
      },
      send: (request, at, dialog) => {
        this.#startClient(request, at, dialog);
        this.#requests.push(request);
      },
    });
  }

  /** How many dialogs there are. */
  get size(): number {
    return this.#table.size;
  }

  /** The dialogs, oldest first. */
  values(): Dialog[] {
    return this.#table.values();
  }

  /** A dialog by its Call-ID and tags. */
  get(callId: string, localTag: string, remoteTag: string): Dialog | undefined {
    return this.#table.get(callId, localTag, remoteTag);
  }

  /** Ends a dialog now: its INVITE's 2xx resends stop, its RTP ports go back. */
  end(dialog: Dialog, at: number): void {
    this.#h.stopInvite(dialog, at);
    this.delete(dialog);
    if (dialog.media) {
      dialog.media = false;
      this.#h.releaseMedia(dialog.callId, "bye");
    }
  }

  /** The requests the peer made on its own since the last call (see `SipPeer.takeRequests()`). */
  takeRequests(): PeerRequest[] {
    const requests = this.#requests;
    if (requests.length > 0) this.#requests = [];
    return requests;
  }

  /** Forgets every dialog, client transaction and request (the peer closes). */
  clear(): void {
    this.#table.clear();
    this.#sources.clear();
    this.#clients.clear();
    this.#requests = [];
    this.#sweep = undefined;
    this.#timers.clear();
  }

  /**
   * Sends a request of ours in a confirmed dialog (RFC 3261 §12.2.1.1): a NOTIFY of a `refer`
   * subscription, or a REFER (RFC 3515), with `extra` header fields and a body, through its
   * client transaction (§17.1.2); `done` gets the final status (0: none came, Timer F). Its
   * resends, and the request itself, come out of `takeRequests()`. False when the dialog is
   * over or has no source to send to.
   */
  request(
    dialog: Dialog,
    method: string,
    extra: string[],
    body: [string, string] | undefined,
    at: number,
    done: (status: number, at: number) => void,
  ): boolean {
    const remote = dialog.source as Remote | undefined;
    if (dialog.state !== "Confirmed" || remote === undefined) return false;
    if (this.#table.get(dialog.callId, dialog.localTag, dialog.remoteTag) !== dialog) return false;
    const branch = `z9hG4bK-sipecho-${this.#h.tag()}${this.#h.tag()}`;
    const user = _localUser(dialog);
    const lines = [`Contact: ${this.#h.replies.contactOf(user, remote.transport)}`, ...extra];
    const text = this.#h.replies.requestText(dialog, method, remote.transport, branch, lines, body);
    const data = _encoder.encode(text);
    const message = parseMessage(data, DATAGRAM) as SipRequest;
    const request = { at, data, message, remote, to: { address: remote.address, port: remote.port }, branch };
    this.#h.event("bye", `${method} ${dialog.callId}: the peer sends it in the dialog`, remote, {
      callId: dialog.callId,
    });
    this.#startClient(request, at, undefined, done);
    this.#requests.push(request);
    return true;
  }

  /** Ends a dialog with a BYE of ours that comes out of `takeRequests()` (a transfer done). */
  hangUp(dialog: Dialog, at: number): void {
    this.#requests.push(...this.bye(dialog, at));
  }

  /** See `SipPeer.bye()`. */
  bye(target: Dialog | string, at: number): PeerRequest[] {
    const dialogs = typeof target === "string" ? this.#table.values().filter((d) => d.callId === target) : [target];
    const out: PeerRequest[] = [];
    for (const dialog of dialogs) {
      const remote = dialog.source as Remote | undefined;
      if (dialog.state !== "Confirmed" || !dialog.acked || remote === undefined) continue;
      if (this.#table.get(dialog.callId, dialog.localTag, dialog.remoteTag) !== dialog) continue;
      const branch = `z9hG4bK-sipecho-${this.#h.tag()}${this.#h.tag()}`;
      const data = _encoder.encode(this.#h.replies.byeText(dialog, remote.transport, branch));
      const message = parseMessage(data, DATAGRAM) as SipRequest;
      this.#h.event("bye", `BYE ${dialog.callId}: the peer ends the dialog`, remote, { callId: dialog.callId });
      this.end(dialog, at);
      const request = { at, data, message, remote, to: { address: remote.address, port: remote.port }, branch };
      this.#startClient(request, at);
      out.push(request);
    }
    return out;
  }

  /**
   * Runs the client transaction of a request the peer sent (RFC 3261 §17.1.2: Timer E resends
   * it on UDP, Timer F gives up); its resends come out of `takeRequests()`.
   */
  #startClient(
    request: PeerRequest,
    at: number,
    refresh?: Dialog,
    done?: (status: number, at: number) => void,
  ): void {
    const machine = new ClientTransaction({
      invite: request.message.method === "INVITE",
      reliable: request.remote.transport !== "udp",
      at,
      timers: this.#h.timers,
    });
    const client: _Client = { request, machine, job: undefined, refresh, done };
    this.#clients.set(request.branch, client);
    this.#armClient(client);
  }

  #armClient(client: _Client): void {
    client.job?.cancel();
    const next = client.machine.nextTimer();
    client.job = next === undefined ? undefined : this.#h.jobs.schedule(next, (at) => {
      client.job = undefined;
      for (const event of client.machine.fire(at)) {
        const request = client.request;
        if (event.kind === "retransmit") this.#requests.push({ ...request, at });
        else if (event.kind === "timeout") {
          const F = 64 * this.#h.timers.T1;
          this.#h.event(
            "timeout",
            `${request.message.method} ${request.message.callId}: no final response (Timer F, ${F} ms)`,
            request.remote,
          );
          if (client.refresh !== undefined) this.#timers.refreshed(client.refresh, 0, undefined, request.remote, at);
          client.done?.(0, at);
        } else {
          this.#clients.delete(request.branch);
          return;
        }
      }
      this.#armClient(client);
    });
  }

  /**
   * A response to one of the peer's own requests (RFC 3261 §17.1.3: matched by the branch of
   * its top Via and its CSeq method): its client transaction takes it. False for any other.
   */
  response(response: SipResponse, remote: Remote, at: number): boolean {
    if (this.#clients.size === 0) return false;
    let branch: string | undefined;
    try {
      branch = response.via[0]?.branch ?? undefined;
      const method = response.cseq.method;
      if (method !== "BYE" && method !== "UPDATE" && method !== "NOTIFY" && method !== "REFER" && method !== "INVITE") {
        return false;
      }
    } catch {
      return false;
    }
    const client = branch === undefined ? undefined : this.#clients.get(branch);
    if (client === undefined) return false;
    // An answer to our request: its source receives what we send (RFC 9000 §8.1).
    this.#h.guard?.validate(this.#h.guard.source(remote.address, at), at);
    const verdict = client.machine.receive(response.status, at);
    if (client.machine.invite) {
      this.#ackInvite(client, response, verdict.kind === "ack" || verdict.kind === "deliver", at);
    }
    if (verdict.kind === "deliver" && verdict.first && response.status >= 200) {
      if (client.done !== undefined) {
        this.#h.event(
          "bye",
          `${response.cseq.method} ${response.callId}: ${response.status} ${response.reason}`,
          remote,
          {
            callId: response.callId,
          },
        );
        client.done(response.status, at);
      } else if (client.refresh === undefined) {
        this.#h.event("bye", `BYE ${response.callId}: ${response.status} ${response.reason}`, remote, {
          callId: response.callId,
        });
      } else {
        let se: string | undefined;
        try {
          se = response.headers.get("Session-Expires");
        } catch {
          se = undefined;
        }
        this.#timers.refreshed(client.refresh, response.status, se, remote, at);
      }
    }
    this.#armClient(client);
    return true;
  }

  /**
   * The ACK of a final response to our re-INVITE: for a 2xx, the TU's own (RFC 3261 §13.2.2.4:
   * a new branch, CSeq number of the INVITE), sent again for each 2xx resent; for another final
   * status, the transaction's (§17.1.1.3: the INVITE's branch and Request-URI, the response's
   * To). None for a 1xx or an absorbed response.
   */
  #ackInvite(client: _Client, response: SipResponse, wanted: boolean, at: number): void {
    const status = response.status;
    if (!wanted || status < 200) return;
    const invite = client.request;
    if (status < 300) {
      client.ack ??= _ackOf(invite, `z9hG4bK-sipecho-${this.#h.tag()}${this.#h.tag()}`, undefined, at);
      this.#requests.push({ ...client.ack, at });
      return;
    }
    this.#requests.push(_ackOf(invite, invite.branch, response.headers.get("To"), at));
  }

  /**
   * What a 2xx of ours does to the dialogs, before it goes: a 2xx to an INVITE makes its dialog
   * (RFC 3261 §12.1.1), or, to a re-INVITE, updates it and waits for its own ACK (§14.2); a 2xx
   * to a BYE ends it. A 2xx to an INVITE or an UPDATE sets the session interval it agrees to
   * (RFC 4028 §9: each is a session refresh). The reason phrase of the 503 that replaces the 2xx
   * when a new dialog cannot be kept; undefined otherwise.
   */
  answered(ctx: _Context, at: number): string | undefined {
    const request = ctx.request;
    if (request.method === "INVITE") {
      let dialog = ctx.dialog;
      if (dialog === undefined) {
        dialog = new Dialog({
          callId: request.callId,
          localTag: ctx.toTag,
          remoteTag: request.from.tag ?? "",
          localUri: request.to.uri,
          remoteUri: request.from.uri,
          remoteContact: _contactField(request),
          recordRoute: _recordRoute(request),
          source: ctx.remote,
          remoteSeq: request.cseq.seq,
          inviteKey: ctx.tx.key,
          offer: ctx.ourOffer,
          sessionId: ctx.sessionId,
          createdAt: at,
        });
        const refused = this.add(dialog, ctx);
        if (refused !== undefined) return refused;

        ctx.dialog = dialog;
        if (ctx.replaces !== undefined) this.#replace(ctx.replaces, dialog, at);
        dialog.sessionVersion = ctx.sessionVersion;
        if (ctx.timer !== undefined) this.#timers.set(dialog, ctx.timer, at);
        if (ctx.media) {
          // The ports the INVITE held are the dialog's now.
          ctx.media = false;
          dialog.media = true;
        }
      } else {
        // A re-INVITE: the new 2xx waits for its own ACK (RFC 3261 §14.2).
        dialog.inviteKey = ctx.tx.key;
        dialog.acked = false;
        dialog.offer = ctx.ourOffer;
        dialog.answerProblem = undefined;
        dialog.sessionVersion = ctx.sessionVersion;
        dialog.remoteTarget = _firstContact(request) ?? dialog.remoteTarget;
        dialog.source = ctx.remote;
        // RFC 4028 §9: a re-INVITE is a session refresh; its 2xx says the interval from now on.
        this.#timers.set(dialog, ctx.timer, at);
      }
    }
    if (request.method === "UPDATE" && ctx.dialog !== undefined) {
      // RFC 4028 §9: so is an UPDATE.
      this.#timers.set(ctx.dialog, ctx.timer, at);
    }
    if (request.method === "BYE" && ctx.dialog !== undefined) this.end(ctx.dialog, at);
    return undefined;
  }

  /**
   * RFC 3891 §3: the new dialog is accepted (its 2xx goes now), so the dialog its INVITE's
   * Replaces named ends with a BYE of ours (out of `takeRequests()`).
   */
  #replace(old: Dialog, by: Dialog, at: number): void {
    if (this.#table.get(old.callId, old.localTag, old.remoteTag) !== old) return;
    this.#h.event("bye", `replaces: dialog ${old.id} replaced by call ${by.callId}`, by.source as Remote | undefined, {
      callId: old.callId,
    });
    this.hangUp(old, at);
  }

  /**
   * Keeps a new dialog, unless the table is full or its source holds its share: then the
   * reason phrase of the 503 that refuses it.
   */
  add(dialog: Dialog, ctx: _Context): string | undefined {
    const refused = this.room(ctx);
    if (refused !== undefined) return refused;
    if (!this.#table.add(dialog)) return "Service Unavailable: too many dialogs";
    this.#sweepLater(dialog.createdAt);
    if (ctx.transfer !== undefined) this.#h.transfer?.(dialog, ctx.transfer, dialog.createdAt);
    if (ctx.refreshBy === "INVITE" && ctx.localSdp !== undefined) dialog.refreshSdp = ctx.localSdp;
    const source = ctx.source;
    if (source !== undefined) {
      this.#h.guard!.hold(source, "dialogs");
      this.#sources.set(dialog, source);
    }
    return undefined;
  }

  /** Why a new dialog cannot be kept (the reason phrase of a 503), or undefined when it can. */
  room(ctx: _Context): string | undefined {
    const source = ctx.source;
    if (source !== undefined && this.#h.guard!.full(source, "dialogs", this.#table.limit)) {
      this.#h.event("limit", `share: ${source.key} holds its share of the dialogs: 503`, ctx.remote);
      return "Service Unavailable: too many dialogs from this source";
    }
    if (this.#table.size >= this.#table.limit) {
      this.#h.event("dropped", `dialog table full (${this.#table.limit}): 503`, ctx.remote);
      return "Service Unavailable: too many dialogs";
    }
    return undefined;
  }

  /** Makes sure idle dialogs are looked for (RFC 3261 §15.1.1: the peer ends them). */
  #sweepLater(at: number): void {
    const idle = this.#h.timers.dialogIdle;
    if (this.#sweep !== undefined || !(idle > 0) || !Number.isFinite(idle)) return;
    const every = Math.min(Math.max(Math.ceil(idle / 4), 1), 60_000);
    this.#sweep = this.#h.jobs.schedule(at + every, (when) => {
      this.#sweep = undefined;
      this.#endIdle(when);
      if (this.#table.size > 0) this.#sweepLater(when);
    });
  }

  /** Ends every confirmed dialog with no request for `timers.dialogIdle`, with a BYE. */
  #endIdle(at: number): void {
    const idle = this.#h.timers.dialogIdle;
    for (const dialog of this.#table.values()) {
      if (!dialog.acked || at - dialog.lastRequestAt < idle) continue;
      const remote = dialog.source as Remote | undefined;
      this.#h.event("timeout", `dialog ${dialog.callId}: no request for ${idle} ms: the peer ends it with BYE`, remote);
      this.#requests.push(...this.bye(dialog, at));
    }
  }

  /** Forgets a dialog and gives its entry back to its source. */
  delete(dialog: Dialog): void {
    this.#timers.forget(dialog);
    const known = this.#table.get(dialog.callId, dialog.localTag, dialog.remoteTag) === dialog;
    this.#table.delete(dialog);
    const source = this.#sources.get(dialog);
    if (known && source !== undefined) {
      this.#sources.delete(dialog);
      this.#h.guard!.release(source, "dialogs");
    }
  }

  /** The dialog a request is in, by its Call-ID and tags (RFC 3261 §12.2.2). */
  of(request: SipRequest): Dialog | undefined {
    const toTag = request.to.tag;
    if (toTag === undefined) return undefined;
    return this.#table.get(request.callId, toTag, request.from.tag ?? "");
  }
}

/**
 * The ACK of our INVITE `invite` (RFC 3261 §17.1.1.3, §13.2.2.4): its first line, Via (with
 * `branch`), Max-Forwards, Route, From, To (`to` when given: the response's), Call-ID, and CSeq
 * with method ACK; no body.
 */
function _ackOf(invite: PeerRequest, branch: string, to: string | undefined, at: number): PeerRequest {
  const m = invite.message;
  const via = (m.headers.get("Via") ?? "").replace(/;branch=[^;,]*/, `;branch=${branch}`);
  const lines = [`ACK ${m.uri} SIP/2.0`, `Via: ${via}`, "Max-Forwards: 70"];
  for (const route of m.headers.getAll("Route")) lines.push(`Route: ${route}`);
  lines.push(
    `From: ${m.headers.get("From")}`,
    `To: ${to ?? m.headers.get("To")}`,
    `Call-ID: ${m.callId}`,
    `CSeq: ${m.cseq.seq} ACK`,
    "Content-Length: 0",
  );
  const data = _encoder.encode(lines.join("\r\n") + "\r\n\r\n");
  const message = parseMessage(data, DATAGRAM) as SipRequest;
  return { at, data, message, remote: invite.remote, to: invite.to, branch };
}

/** The Record-Route field values as received, if any (parsed by the dialog only when needed). */
function _recordRoute(request: SipRequest): string[] | undefined {
  let values: string[] | undefined;
  for (const field of request.headers.fields) if (field.name === "Record-Route") (values ??= []).push(field.value);
  return values;
}

/** The first Contact field value as received, if any (parsed by the dialog only when needed). */
function _contactField(request: SipRequest): string | undefined {
  for (const field of request.headers.fields) if (field.name === "Contact") return field.value;
  return undefined;
}

/** The URI of the first Contact, if it can be read (a re-INVITE's new remote target, RFC 3261 §12.2.2). */
function _firstContact(request: SipRequest): string | undefined {
  try {
    const contact = request.contact;
    return contact === "*" ? undefined : contact[0]?.uri;
  } catch {
    return undefined;
  }
}
