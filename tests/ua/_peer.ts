// The SipPeer of the UA tests, without sockets: a peer at 192.0.2.1:5060, the requests a UDP
// source sends it, and its clock run by hand.
import { type Output, type PeerEvent, type PeerOptions, SipPeer } from "../../src/ua/peer.ts";
import { sip } from "../_data.ts";

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

/** An SDP offer of PCMU and DTMF from `address`, port 49170. */
export function offerFrom(address: string): string {
  return `v=0\r\no=alice 1 1 IN IP4 ${address}\r\ns=-\r\nc=IN IP4 ${address}\r\nt=0 0\r\n` +
    "m=audio 49170 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n";
}

export interface RequestOptions {
  user?: string;
  branch?: string;
  callId?: string;
  cseq?: number;
  toTag?: string;
  fromTag?: string;
  extra?: string[];
  body?: string;
  contentType?: string;
  /** Via transport, `udp` by default. */
  transport?: string;
  /** The whole first Via field, in place of the one built from the source. */
  via?: string;
  /** Via field values after the first. */
  vias?: string[];
}

/**
 * The request builder of a source at `source` (`address:port`, its Via sent-by and Contact): a
 * request to `USER@192.0.2.1` (`echo@` by default).
 */
export function requestsFrom(source: string): (method: string, o?: RequestOptions) => Uint8Array {
  return (method, o = {}) => {
    const body = o.body ?? "";
    const user = o.user ?? "echo";
    const lines = [
      `${method} sip:${user}@192.0.2.1 SIP/2.0`,
      o.via ??
        `Via: SIP/2.0/${(o.transport ?? "udp").toUpperCase()} ${source};branch=${
          o.branch ?? "z9hG4bK-" + method
        };rport`,
      ...(o.vias ?? []).map((via) => `Via: ${via}`),
      "Max-Forwards: 70",
      `From: "Alice" <sip:alice@example.com>;tag=${o.fromTag ?? "a1"}`,
      `To: <sip:${user}@192.0.2.1>${o.toTag ? ";tag=" + o.toTag : ""}`,
      `Call-ID: ${o.callId ?? "call-1@example.com"}`,
      `CSeq: ${o.cseq ?? 1} ${method}`,
      `Contact: <sip:alice@${source}>`,
      ...(body ? [`Content-Type: ${o.contentType ?? "application/sdp"}`] : []),
      ...(o.extra ?? []),
      `Content-Length: ${encoder.encode(body).length}`,
    ];
    return encoder.encode(sip(lines, body));
  };
}

/** A peer at 192.0.2.1:5060 with seed 1, its events pushed to `events`. */
export function peer(options: PeerOptions = {}, events?: PeerEvent[]): SipPeer {
  return new SipPeer({ address: "192.0.2.1", port: 5060, seed: 1, ...options, onEvent: (e) => events?.push(e) });
}

/** Runs the clock to `until`, collecting what the peer sends, tick by tick at nextTimer(). */
export function runUntil(p: SipPeer, until: number): Output[] {
  const out: Output[] = [];
  for (;;) {
    const next = p.nextTimer();
    if (next === undefined || next > until) return out;
    out.push(...p.tick(next));
  }
}

/** The statuses of the responses sent. */
export function statuses(out: Output[]): number[] {
  return out.map((o) => o.message.status);
}
