/**
 * What the peer answers to a new request and when: the rule that answers it (the caller's
 * `selectRule`, the rules, the built-in test users), the checks of RFC 3261 §8.2 for the
 * built-in behaviour, and the built-in answer of each method; the result is a plan of
 * responses with their delays. Internal to src/ua.
 *
 * @module
 */

import {
  DEFAULT_RULES,
  findRule,
  renderTemplate,
  resolveAction,
  type ResolvedAction,
  type ResponseSpec,
  type Rule,
  type RuleInput,
  type Transport,
} from "../rules/rules.ts";
import { templateValues } from "../rules/template.ts";
import type { SipRequest } from "../sip/message.ts";
import type { SipUri } from "../sip/uri.ts";
import { type CheckEnv, checkRequest, SDP_METHODS } from "./checks.ts";
import { type _Context, type _Plan, type _Planned, type _Reject, _Reliable, type _Reply } from "./context.ts";
import { _negotiateTimer, type SessionTimerLimits } from "./extensions.ts";
import type { Dialog } from "./dialog.ts";
import type { Registrar } from "./registrar.ts";
import type { Replies } from "./replies.ts";
import type { SessionAnswers } from "./session.ts";
import type { _EventDetails, PeerEvent, Remote } from "./types.ts";
import type { AuthGate } from "./auth_gate.ts";

/** What the {@linkcode Planner} needs of the peer. */
export interface PlannerHost {
  /** Digest authentication, asked before any answer is planned. */
  auth: AuthGate;
  rules: readonly Rule[];
  /** Whether the built-in test users answer after the rules. */
  defaults: boolean;
  random: () => number;
  stateless: boolean;
  retryAfter: number;
  selectRule: ((request: SipRequest, remote: Remote) => Rule | undefined) | undefined;
  replies: Replies;
  session: SessionAnswers;
  registrar: Registrar;
  checkEnv: CheckEnv;
  /** The time, ms. */
  now(): number;
  /** The key of the current message's source (with a guard). */
  sourceKey(): string | undefined;
  /** Why a new dialog cannot be kept (a 503's reason), or undefined. */
  dialogRoom(ctx: _Context): string | undefined;
  dialogOf(request: SipRequest): Dialog | undefined;
  /** The current message's source receives what we send (it used our tag). */
  validate(): void;
  /** Whether bytes fit the source's anti-amplification budget. */
  fits(ctx: _Context, bytes: number, at: number): boolean;
  /** The short 503 that replaces an answer over that budget. */
  tooLarge(ctx: _Context, instead: _Reply): _Reply;
  /** Whether anyone listens to events (they cost a string each). */
  eventsWanted: boolean;
  event(kind: PeerEvent["kind"], message: string, remote?: Remote, details?: _EventDetails): void;
  /** The session-timer limits (RFC 4028). */
  sessionTimer: SessionTimerLimits;
  /** The RSeq of the first reliable provisional of an INVITE (RFC 3262 §3: random). */
  rseqStart(): number;
  /** A REFER (RFC 3515, see refer.ts): 202 and its subscription, or the rejection. */
  refer(ctx: _Context): _Reject;
  /** A NOTIFY answered 200: the outcome of a REFER of ours, maybe (transfer.ts). */
  notify(ctx: _Context): void;
  /** The `Replaces` of a request (RFC 3891 §3, replaces.ts): its rejection, or undefined. */
  replaces?(ctx: _Context): _Reject | undefined;
}

/** Plans the answer to a new request (see the module documentation). */
export class Planner {
  readonly #h: PlannerHost;

  constructor(host: PlannerHost) {
    this.#h = host;
  }

  /** The rule that answers a new request: the caller's `selectRule`, then `rules` (undefined: none). */
  choose(request: SipRequest, remote: Remote, input: RuleInput): ResolvedAction | undefined {
    const rule = this.#h.selectRule?.(request, remote) ??
      (this.#h.rules.length > 0 ? findRule(this.#h.rules, input) : undefined);
    if (rule === undefined) return undefined;
    const action = resolveAction(rule.action, this.#h.random);
    if (this.#h.eventsWanted) {
      this.#h.event("rule", `${request.method} ${request.uri}: rule "${rule.name}" (${action.kind})`, remote, {
        callId: request.callId,
      });
    }
    return action;
  }

  /** What to send for a new request (not a `silent` one): the RFC checks, the rules, the built-in answer. */
  plan(ctx: _Context, input: RuleInput, action: ResolvedAction | undefined): _Plan {
    const request = ctx.request;
    const inDialog = request.to.tag !== undefined && request.method !== "REGISTER";
    const builtIn = (action === undefined || action.kind === "default") && !inDialog && this.#h.defaults
      ? findRule(DEFAULT_RULES, input)
      : undefined;
    const resolved = builtIn === undefined ? undefined : resolveAction(builtIn.action, this.#h.random);
    // RFC 3261 §22: who must authenticate does so before anything is answered (auth_gate.ts).
    const auth = action !== undefined && action.kind !== "silent" && action.auth !== undefined
      ? action.auth
      : resolved?.kind === "silent"
      ? undefined
      : resolved?.auth;
    const refused = this.#h.auth.check(request, ctx.remote, inDialog, auth);
    if (refused !== undefined) return this.#final(ctx, refused.status, refused.reason, refused.headers);
    // RFC 3891 §3: the dialog a Replaces names, whoever answers (replaces.ts).
    const replaced = this.#h.replaces?.(ctx);
    if (replaced !== undefined) return this.#final(ctx, replaced.status, replaced.reason, replaced.headers);
    // The rule's media flows go with the call's ports (PeerOptions.rtpPort).
    if (action !== undefined && action.kind !== "silent" && (action.dtmf ?? action.play) !== undefined) {
      ctx.flows = { dtmf: action.dtmf, play: action.play };
    }
    // The rule's call flows (call_flows.ts): what a REFER does; the transfer of the call made.
    if (action !== undefined && action.kind !== "silent") {
      ctx.referMode = action.refer;
      ctx.transfer = action.transfer;
    }
    if (action === undefined || action.kind === "default") {
      // Built-in behaviour: the RFC checks first, then the test users.
      const reject = checkRequest(ctx, this.#h.checkEnv);
      if (reject !== undefined) return this.#final(ctx, reject.status, reject.reason, reject.headers);
      if (builtIn !== undefined && resolved !== undefined && resolved.kind !== "silent") {
        if (this.#h.eventsWanted) {
          this.#h.event("rule", `${request.method} ${request.uri}: test user "${builtIn.name}"`, ctx.remote, {
            callId: request.callId,
          });
        }
        if (resolved.kind === "respond") {
          return this.#extensions(ctx, resolved, resolved.response.status) ??
            this.#planRespond(ctx, resolved.response, resolved.provisional);
        }
      }
      return this.#extensions(ctx, action, undefined) ??
        this.#planDefault(ctx, action?.kind === "default" ? action.provisional : []);
    }
    if (action.kind === "silent") throw new RangeError("plan(): a silent action has no plan");
    if (SDP_METHODS.includes(request.method)) ctx.offer = this.#h.session.readOffer(request);
    if (inDialog) {
      ctx.dialog = this.#h.dialogOf(request);
      if (ctx.dialog !== undefined) {
        ctx.dialog.lastRequestAt = this.#h.now();
        this.#h.validate();
      }
    }

    return this.#extensions(ctx, action, action.response.status) ??
      this.#planRespond(ctx, action.response, action.provisional);
  }

  /**
   * The extensions of an INVITE or UPDATE: whether its 18x go reliably (RFC 3262 §3), and
   * the session interval of its 2xx (RFC 4028 §9); a rejection when the request and the rule
   * disagree (421, 420, 422), else undefined and `ctx` set up. `status` is the final status
   * a rule answers with (undefined: the built-in answer, a 2xx when all goes well).
   */
  #extensions(
    ctx: _Context,
    action: ResolvedAction | undefined,
    status: number | undefined,
  ): _Plan | undefined {
    const request = ctx.request;
    const method = request.method;
    if (this.#h.stateless || (method !== "INVITE" && method !== "UPDATE")) return undefined;
    const supported = this.#h.checkEnv.supported;
    const rule = action?.kind === "silent" ? undefined : action;
    if (method === "INVITE") {
      const mode = rule?.reliable ?? (supported.includes("100rel") ? "supported" : "never");
      const required = request.require.includes("100rel");
      const offered = required || request.supported.includes("100rel");
      // RFC 3261 §21.4.15: the UAS needs an extension the request does not list in Supported.
      if (mode === "require" && !offered) return this.#final(ctx, 421, undefined, [["Require", "100rel"]]);
      // RFC 3261 §8.2.2.3: the request requires an extension we will not use.
      if (mode === "never" && required) return this.#final(ctx, 420, undefined, [["Unsupported", "100rel"]]);
      // RFC 3262 §3: 18x go reliably only when the request says the UAC supports it.
      if (mode !== "never" && offered) ctx.rel = new _Reliable(this.#h.rseqStart());
      if (offered) ctx.supportedHeader = true;
    }
    if (supported.includes("timer") && (status === undefined || (status >= 200 && status < 300))) {
      const timer = _negotiateTimer(request, this.#h.sessionTimer, rule?.timer);
      if (timer.kind === "reject") return this.#final(ctx, timer.status, timer.reason, timer.headers);
      if (timer.kind === "timer") {
        ctx.timer = timer.interval;
        ctx.timerHeaders = timer.headers;
        if (rule?.timer?.method === "INVITE") ctx.refreshBy = "INVITE";
        ctx.supportedHeader = true;
      }
    }
    return undefined;
  }

  /**
   * A response of the plan to an INVITE or UPDATE, with what its extensions add: `Require:
   * 100rel` and the next RSeq on a reliable 18x (RFC 3262 §3), Session-Expires (and `Require:
   * timer`) on the 2xx (RFC 4028 §9), the peer's Supported tags when the request used an
   * extension; a 2xx to an INVITE carries no SDP when a reliable 18x did (RFC 3262 §5: the
   * offer/answer is done).
   */
  #build(
    ctx: _Context,
    status: number,
    reason: string | undefined,
    headers: [string, string][],
    body: [string, string | Uint8Array] | undefined,
  ): _Reply {
    const invite = ctx.request.method === "INVITE";
    const rel = ctx.rel;
    let rseq: number | undefined;
    if (invite && rel !== undefined && status > 100 && status < 200) {
      rseq = rel.next++;
      headers.push(["Require", "100rel"], ["RSeq", String(rseq)]);
      if (body?.[0] === "application/sdp") rel.sdp = true;
    }
    if (status >= 200 && status < 300) {
      if (ctx.timerHeaders !== undefined) headers.push(...ctx.timerHeaders);
      if (invite && rel?.sdp && body?.[0] === "application/sdp") body = undefined;
    }
    const supported = this.#h.checkEnv.supported;
    if (ctx.supportedHeader && status > 100 && status < 300 && supported.length > 0) {
      headers.push(["Supported", supported.join(", ")]);
    }
    const reply = this.#h.replies.build(ctx, status, reason, headers, body);
    reply.rseq = rseq;
    return reply;
  }

  /** A plan of one immediate final response. */
  #final(
    ctx: _Context,
    status: number,
    reason?: string,
    headers?: [string, string][],
    body?: [string, string | Uint8Array],
  ): _Plan {
    return { provisional: [], final: { after: 0, reply: this.#h.replies.build(ctx, status, reason, headers, body) } };
  }

  /** The built-in answer by method. */
  #planDefault(ctx: _Context, provisional: readonly ResponseSpec[]): _Plan {
    const request = ctx.request;
    switch (request.method) {
      case "INVITE": {
        // No dialog can be made: refused before any RTP port is taken.
        const full = ctx.dialog === undefined ? this.#h.dialogRoom(ctx) : undefined;
        if (full !== undefined) return this.#final(ctx, 503, full, [["Retry-After", String(this.#h.retryAfter)]]);
        const sdp = this.#h.session.answer(ctx);
        if (typeof sdp !== "string") return this.#final(ctx, sdp.status, sdp.reason, sdp.headers);
        let ringing: _Planned[];
        let after = 0;
        if (ctx.dialog !== undefined) {
          ringing = [];
        } else if (provisional.length > 0) {
          ringing = provisional.map((p) => this.#planned(ctx, p));
          for (const p of ringing) after = Math.max(after, p.after);
        } else if (this.#h.stateless) {
          ringing = []; // RFC 3261 §8.2.7: never sent
        } else {
          ringing = [{ after: 0, reply: this.#build(ctx, 180, undefined, [], undefined) }];
        }
        const ok = this.#build(ctx, 200, undefined, [["Contact", this.#h.replies.contact(request)]], [
          "application/sdp",
          sdp,
        ]);
        return { provisional: ringing, final: { after, reply: ok } };
      }
      case "BYE":
        return this.#final(ctx, 200);
      case "OPTIONS":
        return this.#final(ctx, 200, undefined, this.#h.replies.capabilities(), this.#h.replies.optionsBody(request));
      case "REGISTER": {
        // With a guard, the bindings count against the source's share.
        const result = this.#h.registrar.register(request, this.#h.now(), this.#h.sourceKey());
        const plan = this.#final(ctx, result.status, result.reason, result.headers);
        if (result.status === 200 && !this.#h.fits(ctx, plan.final!.reply.data.length, this.#h.now())) {
          // The 200 lists every binding (RFC 3261 §10.3 step 8) and is over the source's budget:
          // the REGISTER is taken back and answered 503, so that the 503 means nothing was done.
          this.#h.registrar.undo();
          return { provisional: [], final: { after: 0, reply: this.#h.tooLarge(ctx, plan.final!.reply) } };
        }
        return plan;
      }
      case "UPDATE": {
        if (ctx.offer === undefined) {
          return { provisional: [], final: { after: 0, reply: this.#build(ctx, 200, undefined, [], undefined) } };
        }
        const sdp = this.#h.session.answer(ctx);
        if (typeof sdp !== "string") return this.#final(ctx, sdp.status, sdp.reason, sdp.headers);
        const headers: [string, string][] = [["Contact", this.#h.replies.contact(request)]];
        const reply = this.#build(ctx, 200, undefined, headers, ["application/sdp", sdp]);
        return { provisional: [], final: { after: 0, reply } };
      }
      case "PRACK":
        // RFC 3262 §3: a PRACK the transaction user did not match to a reliable provisional
        // response still awaiting one (see reliable.ts) matches nothing.
        return this.#final(
          ctx,
          481,
          "Call/Transaction Does Not Exist: no reliable provisional response awaits this PRACK",
        );
      case "NOTIFY":
        // The outcome of a REFER of ours (RFC 3515 §2.4.5), if it is one (transfer.ts).
        this.#h.notify(ctx);
        return this.#final(ctx, 200);
      case "MESSAGE":
      case "INFO":
        return this.#final(ctx, 200);
      case "REFER": {
        // RFC 3515 §2.4.2: 202 Accepted, then the NOTIFYs of the implicit subscription.
        const r = this.#h.refer(ctx);
        return this.#final(ctx, r.status, r.reason, r.headers);
      }
      case "SUBSCRIBE":
        // RFC 6665 §4.2.1.1: no event package is supported.
        return this.#final(ctx, 489);
      default:
        return this.#final(ctx, 501);
    }
  }

  /** The plan of a `respond` action: its provisionals, then its final (or none, for a 1xx). */
  #planRespond(ctx: _Context, spec: ResponseSpec, provisional: readonly ResponseSpec[]): _Plan {
    const plan: _Plan = { provisional: provisional.map((p) => this.#planned(ctx, p)) };
    const main = this.#planned(ctx, spec);
    if (spec.status < 200) {
      plan.provisional.push(main);
      plan.noFinal = true;
    } else {
      plan.final = main;
    }
    return plan;
  }

  #planned(ctx: _Context, spec: ResponseSpec): _Planned {
    const request = ctx.request;
    const vars = templateValues(request, ctx.remote);
    const headers: [string, string][] = spec.headers.map(([name, value]) => [name, renderTemplate(value, vars)]);
    let body: [string, string | Uint8Array] | undefined;
    if (spec.body?.kind === "sdp") {
      const sdp = this.#h.session.answer(ctx);
      // No answer is possible: the final becomes the 488 (RFC 3264 §6), or the 503 when no RTP
      // port is free.
      if (typeof sdp !== "string") {
        return { after: 0, reply: this.#h.replies.build(ctx, sdp.status, sdp.reason, sdp.headers) };
      }
      body = ["application/sdp", sdp];
    } else if (spec.body?.kind === "echo") {
      if (request.body.length > 0) {
        body = [request.headers.get("Content-Type") ?? "application/octet-stream", request.body];
      }
    } else if (spec.body?.kind === "text") {
      body = [spec.body.type, renderTemplate(spec.body.text, vars)];
    }
    // RFC 3261 §12.1.1: a response that makes a dialog carries a Contact.
    const dialogForming = request.method === "INVITE" && spec.status > 100 && spec.status < 300;
    if (dialogForming && !headers.some(([n]) => n.toLowerCase() === "contact" || n === "m")) {
      headers.push(["Contact", this.#h.replies.contact(request)]);
    }
    return { after: spec.after, reply: this.#build(ctx, spec.status, spec.reason, headers, body) };
  }
}

/**
 * A request as the rules see it ({@linkcode RuleInput}): the body is decoded only if a rule
 * looks at it.
 */
export class _RuleInput implements RuleInput {
  readonly method: string;
  readonly source: { address: string; port: number };
  readonly transport: Transport;
  readonly #request: SipRequest;
  #sip: SipUri | null | undefined = undefined;
  #body: string | undefined = undefined;

  constructor(request: SipRequest, remote: Remote) {
    this.method = request.method;
    this.source = remote;
    this.transport = remote.transport;
    this.#request = request;
  }

  /** The Request-URI if SIP or SIPS, read when a rule first asks. */
  #uri(): SipUri | null {
    if (this.#sip === undefined) {
      const ruri = this.#request.requestUri;
      this.#sip = ruri.scheme === "sip" || ruri.scheme === "sips" ? (ruri as SipUri) : null;
    }
    return this.#sip;
  }

  get uriUser(): string | undefined {
    return this.#uri()?.user;
  }

  get uriHost(): string {
    return this.#uri()?.host ?? "";
  }

  header(name: string): string[] {
    return this.#request.headers.getAll(name);
  }

  get body(): string {
    return this.#body ??= this.#request.bodyText;
  }
}
