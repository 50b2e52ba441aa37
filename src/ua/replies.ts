/**
 * What the peer writes: its responses to a transaction's request (RFC 3261 §8.2.6), the short
 * answer that replaces one too large for UDP, its Contact (§12.1.1), the capabilities an
 * OPTIONS gets (§11.2), and the BYE it sends in a dialog (§15.1.1). Internal to src/ua.
 *
 * @module
 */

import { DEFAULT_RULE_DESCRIPTIONS, type Transport } from "../rules/rules.ts";
import type { SipRequest } from "../sip/message.ts";
import type { ResponseHead } from "../sip/response.ts";
import { formatUri, parseUri, type SipUri } from "../sip/uri.ts";
import { _accepts, ALLOW_VALUE } from "./checks.ts";
import { type _Context, _Reply } from "./context.ts";
import type { Dialog } from "./dialog.ts";
import type { _EventDetails, PeerEvent, Remote } from "./types.ts";

/**
 * The largest UDP payload over IPv4 (65,535 less the IP and UDP headers): a longer response
 * cannot be sent as a datagram at all.
 */
const MAX_DATAGRAM = 65_507;
const _encoder = new TextEncoder();

/** What {@linkcode Replies} needs of the peer. */
export interface RepliesOptions {
  /** The Server (and User-Agent) header value. */
  server: string;
  /** Our address and ports, for Contact and Via. */
  address: string;
  port: number;
  ports: Partial<Record<Transport, number>>;
  /** Option tags for Supported. */
  supported: readonly string[];
  /** Whether the built-in test users answer (the OPTIONS body lists them). */
  defaults: boolean;
  event: (kind: PeerEvent["kind"], message: string, remote?: Remote, details?: _EventDetails) => void;
}

/** The peer's writer of responses and requests (see the module documentation). */
export class Replies {
  readonly #o: RepliesOptions;
  /** The last Contact written, by Request-URI user and transport (one call after another asks the same). */
  #contactKey = "";
  #contactValue = "";

  constructor(options: RepliesOptions) {
    this.#o = options;
  }

  /**
   * A response to the transaction's request, written once (RFC 3261 §8.2.6): with its To tag,
   * the Record-Route fields when it makes a dialog (§12.1.1), and replaced by a short answer
   * when it would not fit a UDP datagram.
   */
  build(
    ctx: _Context,
    status: number,
    reason?: string,
    headers?: [string, string][],
    body?: [string, string | Uint8Array],
  ): _Reply {
    const data = ctx.head.format(status, reason, {
      toTag: ctx.toTag,
      server: this.#o.server,
      headers,
      body: body?.[1],
      contentType: body?.[0],
      // RFC 3261 §12.1.1: a response that makes a dialog copies the Record-Route fields.
      recordRoute: status > 100 && status < 300 && ctx.request.method === "INVITE",
    });
    if (data.length > MAX_DATAGRAM && ctx.remote.transport === "udp") {
      return this.tooBigForUdp(ctx.head, status, data.length, ctx.toTag, ctx.remote);
    }
    return new _Reply(status, data, reason === undefined && (headers === undefined || headers.length === 0) && !body);
  }

  /**
   * A response without a transaction (RFC 3261 §8.2.7): to an error found before one exists.
   */
  stateless(
    head: ResponseHead,
    status: number,
    reason: string | undefined,
    headers: [string, string][],
    remote: Remote,
  ): _Reply {
    const data = head.format(status, reason, { server: this.#o.server, headers });
    if (data.length > MAX_DATAGRAM && remote.transport === "udp") {
      return this.tooBigForUdp(head, status, data.length, undefined, remote);
    }
    return new _Reply(status, data);
  }

  /**
   * A response that would not fit one UDP datagram, replaced by a short one that says why, so
   * that the request is still answered: 513 when the request's own fields make it too big (its
   * Vias, copied into every response), else 500 (what we would have added: bindings, a body).
   * With only the top Via when even that is too big (see `FormatResponseOptions.topViaOnly`).
   */
  tooBigForUdp(head: ResponseHead, status: number, size: number, toTag: string | undefined, remote: Remote): _Reply {
    const options = { toTag, server: this.#o.server };
    const bare = head.format(500, undefined, options).length;
    const ours = bare <= MAX_DATAGRAM / 2;
    const code = ours ? 500 : 513;
    const warning = `399 ${this.hostport} "a ${status} response of ${size} bytes does not fit a UDP datagram"`;
    const reason = ours
      ? "Server Internal Error: response too large for UDP"
      : "Message Too Large: any response would be too large for UDP";
    const headers: [string, string][] = [["Warning", warning]];
    let data = head.format(code, reason, { ...options, headers });
    if (data.length > MAX_DATAGRAM) data = head.format(code, reason, { ...options, headers, topViaOnly: true });
    this.#o.event("dropped", `a ${status} response of ${size} bytes does not fit UDP: ${code} sent instead`, remote);
    return new _Reply(code, data);
  }

  /** The text of a BYE in a dialog (RFC 3261 §12.2.1.1, §15.1.1). */
  byeText(dialog: Dialog, transport: Transport, branch: string): string {
    return this.requestText(dialog, "BYE", transport, branch);
  }

  /**
   * The text of a request of ours in a dialog (RFC 3261 §12.2.1.1): a BYE, the UPDATE that
   * refreshes a session (RFC 4028 §7.4, with `extra` header fields), a NOTIFY with its body
   * (`body`: Content-Type and text) or a REFER (RFC 3515).
   */
  requestText(
    dialog: Dialog,
    method: string,
    transport: Transport,
    branch: string,
    extra: string[] = [],
    body?: [string, string],
  ): string {
    const target = dialog.remoteTarget ?? dialog.remoteUri;
    let uri = target;
    let routes = dialog.routeSet;
    // §12.2.1.1: a route set whose first URI lacks `lr` is a strict router: it becomes the
    // Request-URI, and the remote target goes last in Route.
    if (routes.length > 0 && !_looseRouter(routes[0])) {
      uri = routes[0];
      routes = [...routes.slice(1), target];
    }
    const host = this.#o.address.includes(":") ? `[${this.#o.address}]` : this.#o.address;
    const port = this.#o.ports[transport] ?? this.#o.port;
    dialog.localSeq = dialog.localSeq === 0 ? 1 : dialog.localSeq + 1;
    let text = `${method} ${uri} SIP/2.0\r\n` +
      // §8.1.1.7: a new branch with the magic cookie; rport asks for the symmetric response (RFC 3581).
      `Via: SIP/2.0/${transport.toUpperCase()} ${host}:${port};rport;branch=${branch}\r\n` +
      "Max-Forwards: 70\r\n";
    for (const route of routes) text += `Route: <${route}>\r\n`;
    const toTag = dialog.remoteTag === "" ? "" : `;tag=${dialog.remoteTag}`;
    return text +
      `From: <${dialog.localUri}>;tag=${dialog.localTag}\r\n` +
      `To: <${dialog.remoteUri}>${toTag}\r\n` +
      `Call-ID: ${dialog.callId}\r\n` +
      `CSeq: ${dialog.localSeq} ${method}\r\n` +
      extra.map((line) => line + "\r\n").join("") +
      `User-Agent: ${this.#o.server}\r\n` +
      (body === undefined
        ? "Content-Length: 0\r\n\r\n"
        : `Content-Type: ${body[0]}\r\nContent-Length: ${_encoder.encode(body[1]).length}\r\n\r\n${body[1]}`);
  }

  /** Our host and port, for a Warning (RFC 3261 §20.43). */
  get hostport(): string {
    const host = this.#o.address.includes(":") ? `[${this.#o.address}]` : this.#o.address;
    return `${host}:${this.#o.port}`;
  }

  /** Our Contact for a dialog (RFC 3261 §12.1.1): the Request-URI user at our address. */
  contact(request: SipRequest): string {
    const ruri = request.requestUri;
    const user = ruri.scheme === "sip" || ruri.scheme === "sips" ? (ruri as SipUri).user : undefined;
    // RFC 3261 §19.1.4, RFC 5630 §3.1.3: a request to a sips: URI gets a sips: Contact (TLS on
    // every hop, TCP implied); a sip: request over TLS gets `;transport=tls`.
    return this.contactOf(user, request.via[0]?.transport.toLowerCase() ?? "udp", ruri.scheme === "sips");
  }

  /** Our Contact for `user` (none: no user part) over a transport, `sips:` when `sips`. */
  contactOf(user: string | undefined, transport: string, sips = false): string {
    const key = `${sips ? "sips " : ""}${transport}${user === undefined ? "" : ` ${user}`}`;
    if (key === this.#contactKey) return this.#contactValue;
    const bare = transport === "udp" || (sips && (transport === "tls" || transport === "tcp"));
    const uri: SipUri = {
      scheme: sips ? "sips" : "sip",
      host: this.#o.address.includes(":") ? `[${this.#o.address}]` : this.#o.address,
      port: this.#o.ports[(sips && transport === "tcp" ? "tls" : transport) as Transport] ?? this.#o.port,
      params: bare ? {} : { transport },
      headers: {},
    };
    if (user !== undefined) uri.user = user;
    this.#contactKey = key;
    return this.#contactValue = `<${formatUri(uri)}>`;
  }

  /** Allow, Accept, Accept-Encoding, Accept-Language and Supported (RFC 3261 §11.2). */
  capabilities(): [string, string][] {
    const headers: [string, string][] = [
      ["Allow", ALLOW_VALUE],
      ["Accept", "application/sdp"],
      ["Accept-Encoding", "identity"],
      ["Accept-Language", "en"],
    ];
    if (this.#o.supported.length > 0) headers.push(["Supported", this.#o.supported.join(", ")]);
    return headers;
  }

  /** The test users as text/plain, when the OPTIONS accepts it (RFC 3261 §11.2). */
  optionsBody(request: SipRequest): [string, string] | undefined {
    if (!this.#o.defaults || !request.headers.has("Accept") || !_accepts(request, "text/plain")) return undefined;
    let text = "sipecho test users (Request-URI user: answer to INVITE)\r\n" +
      "echo: 180 Ringing, 200 OK with an SDP answer (any other user too)\r\n";
    for (const [user, description] of Object.entries(DEFAULT_RULE_DESCRIPTIONS)) text += `${user}: ${description}\r\n`;
    return ["text/plain", text];
  }
}

/** Whether a route URI is a loose router (RFC 3261 §19.1.1 `lr`); one that cannot be read counts as loose. */
function _looseRouter(uri: string): boolean {
  try {
    const parsed = parseUri(uri);
    return parsed.scheme !== "sip" && parsed.scheme !== "sips" ? true : (parsed as SipUri).params.lr !== undefined;
  } catch {
    return true;
  }
}
