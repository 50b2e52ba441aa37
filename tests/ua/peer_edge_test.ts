// SipPeer on a public address: the edge limits of a guard (src/guard.ts) as the peer applies them,
// on the peer's own clock, without sockets.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type Output, type PeerEvent, type Remote, type SipPeer } from "../../src/ua/peer.ts";
import { EDGE_LAB, SourceGuard } from "../../src/ua/guard.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import { parseRules } from "../../src/rules/rules.ts";
import { parseSdp } from "../../src/media/sdp.ts";
import type { SipRequest } from "../../src/sip/message.ts";
import type { ServerTransaction } from "../../src/ua/transaction.ts";
import { responseDestination } from "../../src/net/transport.ts";
import { sip } from "../_data.ts";
import { decoder, encoder, offerFrom, peer, requestsFrom, runUntil, statuses } from "./_peer.ts";

/** A source that never shows it receives our packets (a spoofed address). */
const SPOOFED: Remote = { address: "198.51.100.7", port: 5070, transport: "udp" };
/** Another source, served while the first is limited. */
const OTHER: Remote = { address: "203.0.113.5", port: 5070, transport: "udp" };
const TCP: Remote = { address: "198.51.100.7", port: 40001, transport: "tcp" };
/** 64*T1 with the default T1 (Timers H, J and L), and a little more. */
const ALL_TIMERS = 64 * 500 + 1000;

const OFFER = offerFrom("198.51.100.7");
const request = requestsFrom("198.51.100.7:5070");
const TWO_STREAMS = OFFER + "m=audio 49172 RTP/AVP 8\r\n";

interface RegisterOptions {
  user?: string;
  contacts?: string[];
  callId?: string;
  cseq?: number;
  extra?: string[];
  transport?: string;
}

function register(o: RegisterOptions = {}): Uint8Array {
  const user = o.user ?? "bob";
  const cseq = o.cseq ?? 1;
  return encoder.encode(sip([
    "REGISTER sip:example.com SIP/2.0",
    `Via: SIP/2.0/${(o.transport ?? "udp").toUpperCase()} 198.51.100.7:5070;branch=z9hG4bK-reg-${user}-${cseq};rport`,
    "Max-Forwards: 70",
    `From: <sip:${user}@example.com>;tag=r1`,
    `To: <sip:${user}@example.com>`,
    `Call-ID: ${o.callId ?? `reg-${user}@example.com`}`,
    `CSeq: ${cseq} REGISTER`,
    ...(o.contacts === undefined || o.contacts.length === 0 ? [] : [`Contact: ${o.contacts.join(", ")}`]),
    ...(o.extra ?? []),
    "Content-Length: 0",
  ]));
}

/** Everything the peer sends for one request, from its arrival at 0 until every timer has run. */
function exchange(p: SipPeer, bytes: Uint8Array, remote: Remote): Output[] {
  return [...p.receive(bytes, remote, 0), ...runUntil(p, 10 * ALL_TIMERS)];
}

function total(out: Output[]): number {
  return out.reduce((n, o) => n + o.data.length, 0);
}

function limits(events: PeerEvent[], prefix: string): string[] {
  return events.filter((e) => e.kind === "limit" && e.message.startsWith(prefix)).map((e) => e.message);
}

const TOO_LARGE = "Service Unavailable: answer too large for an unverified address";

describe("SipPeer with a guard: the anti-amplification limit (RFC 9000 §8.1)", () => {
  const cases: [string, Uint8Array][] = [
    ["an INVITE with SDP (100, 180, 200 and its retransmissions)", request("INVITE", { body: OFFER })],
    ["an INVITE to busy@ (486 and Timer G)", request("INVITE", { user: "busy", body: OFFER })],
    ["an INVITE to redirect@ (302 and Timer G)", request("INVITE", { user: "redirect", body: OFFER })],
    ["an INVITE without SDP (our offer in the 200)", request("INVITE")],
    [
      "an OPTIONS with Accept: text/plain (the test users in the body)",
      request("OPTIONS", { extra: ["Accept: text/plain"] }),
    ],
  ];
  for (const [what, bytes] of cases) {
    test(`SipPeer with a guard sends a spoofed UDP source at most 3x its bytes until Timer H/L: ${what}`, () => {
      const events: PeerEvent[] = [];
      const guarded = exchange(peer({ guard: new SourceGuard() }, events), bytes, SPOOFED);
      // Without the limit the same request would be answered with more than three times its size.
      assert.ok(total(exchange(peer(), bytes, SPOOFED)) > 3 * bytes.length);
      assert.ok(total(guarded) <= 3 * bytes.length, `${total(guarded)} bytes for ${bytes.length}`);
      // The final goes at once (a 1xx or a retransmission is what gives way).
      assert.ok(guarded.some((o) => o.at === 0 && o.message.status >= 200), String(statuses(guarded)));
      assert.equal(limits(events, "amplification: 198.51.100.7 is not validated").length, 1, "one limit event");
    });
  }

  test("SipPeer with a guard skips the 180 that would leave no room for the 200 sent at once", () => {
    const out = peer({ guard: new SourceGuard() }).receive(request("INVITE"), SPOOFED, 0);
    assert.deepEqual(statuses(out), [200]);
    assert.deepEqual(statuses(peer().receive(request("INVITE"), SPOOFED, 0)), [180, 200]);
  });

  test("SipPeer with a guard replaces a final too large for the budget with a short 503 with Retry-After", () => {
    const bytes = request("OPTIONS", { extra: ["Accept: text/plain"] });
    const events: PeerEvent[] = [];
    const out = peer({ guard: new SourceGuard(), retryAfter: 7 }, events).receive(bytes, SPOOFED, 0);
    assert.deepEqual(statuses(out), [503]);
    assert.equal(out[0].message.reason, TOO_LARGE);
    assert.equal(out[0].message.headers.get("Retry-After"), "7");
    const [line, ...more] = limits(events, "amplification");
    assert.match(line, /^amplification: 198\.51\.100\.7 is not validated: a 200 of \d+ bytes replaced by a 503$/);
    assert.deepEqual(more, []);
  });

  const validations: [string, (p: SipPeer) => void][] = [
    ["an ACK of its 2xx with our To tag (matched by the dialog)", (p) => {
      const ok = p.receive(request("INVITE", { body: OFFER, callId: "first" }), SPOOFED, 0).at(-1)!.message;
      p.receive(request("ACK", { callId: "first", branch: "z9hG4bK-ack", toTag: ok.to.tag }), SPOOFED, 100);
    }],
    ["an ACK of its non-2xx with our To tag (matched by the transaction)", (p) => {
      const busy = request("INVITE", { user: "busy", callId: "first", branch: "z9hG4bK-busy" });
      const final = p.receive(busy, SPOOFED, 0).at(-1)!.message;
      assert.equal(final.status, 486);
      const ack = request("ACK", { user: "busy", callId: "first", branch: "z9hG4bK-busy", toTag: final.to.tag });
      p.receive(ack, SPOOFED, 100);
    }],
    ["a request inside a dialog we made", (p) => {
      const ok = p.receive(request("INVITE", { body: OFFER, callId: "first" }), SPOOFED, 0).at(-1)!.message;
      const info = request("INFO", { callId: "first", branch: "z9hG4bK-info", toTag: ok.to.tag, cseq: 2 });
      assert.deepEqual(statuses(p.receive(info, SPOOFED, 100)), [200]);
    }],
  ];
  for (const [how, validate] of validations) {
    test(`SipPeer with a guard sends every 2xx retransmission once the source is validated by ${how}`, () => {
      const guard = new SourceGuard();
      const p = peer({ guard });
      validate(p);
      assert.equal(guard.validated(guard.peek(SPOOFED.address)!, 100), true);
      // A second call, never acknowledged: its 200 is resent until Timer L, as without a guard.
      const second = request("INVITE", { body: OFFER, callId: "second", branch: "z9hG4bK-second" });
      const sent = [...p.receive(second, SPOOFED, 200), ...runUntil(p, 200 + ALL_TIMERS)]
        .filter((o) => o.message.callId === "second");
      const reference = peer();
      const expected = [...reference.receive(second, SPOOFED, 200), ...runUntil(reference, 200 + ALL_TIMERS)];
      assert.deepEqual(sent.map((o) => [o.at, o.message.status]), expected.map((o) => [o.at, o.message.status]));
      assert.equal(sent.filter((o) => o.message.status === 200).length, 11);
    });
  }

  test("SipPeer with a guard holds back the 2xx retransmissions to a source whose ACK carries another To tag", () => {
    const guard = new SourceGuard();
    const p = peer({ guard });
    p.receive(request("INVITE", { body: OFFER, callId: "first" }), SPOOFED, 0);
    p.receive(request("ACK", { callId: "first", branch: "z9hG4bK-ack", toTag: "not-ours" }), SPOOFED, 100);
    assert.equal(guard.validated(guard.peek(SPOOFED.address)!, 100), false);
    const second = request("INVITE", { body: OFFER, callId: "second", branch: "z9hG4bK-second" });
    const sent = [...p.receive(second, SPOOFED, 200), ...runUntil(p, 200 + ALL_TIMERS)]
      .filter((o) => o.message.callId === "second" && o.message.status === 200);
    assert.ok(sent.length < 11, `${sent.length} 200s`);
  });

  test("SipPeer stateless with a guard counts a To tag equal to its hash tag as validation", () => {
    const guard = new SourceGuard();
    const p = peer({ stateless: true, guard });
    const [ok] = p.receive(request("INVITE", { body: OFFER }), SPOOFED, 0);
    assert.equal(ok.message.status, 200);
    p.receive(request("ACK", { branch: "z9hG4bK-ack", toTag: "0badc0de" }), SPOOFED, 10);
    assert.equal(guard.validated(guard.peek(SPOOFED.address)!, 10), false);
    p.receive(request("ACK", { branch: "z9hG4bK-ack", toTag: ok.message.to.tag }), SPOOFED, 20);
    assert.equal(guard.validated(guard.peek(SPOOFED.address)!, 20), true);
    // Validated: a large answer goes whole.
    const options = p.receive(request("OPTIONS", { extra: ["Accept: text/plain"] }), SPOOFED, 30);
    assert.deepEqual(statuses(options), [200]);
  });

  test("SipPeer with a guard never limits TCP: the same bytes as without a guard", () => {
    const bytes = request("INVITE", { body: OFFER, transport: "tcp" });
    const guarded = exchange(peer({ guard: new SourceGuard() }), bytes, TCP);
    const plain = exchange(peer(), bytes, TCP);
    assert.ok(total(plain) > 3 * bytes.length);
    assert.deepEqual(
      guarded.map((o) => [o.at, o.message.status, o.data]),
      plain.map((o) => [o.at, o.message.status, o.data]),
    );
    const options = request("OPTIONS", { extra: ["Accept: text/plain"], transport: "tcp" });
    const [answer] = peer({ guard: new SourceGuard() }).receive(options, TCP, 0);
    assert.equal(answer.message.status, 200);
    assert.ok(answer.data.length > 3 * options.length);
  });

  test("SipPeer with a guard answers a REGISTER query of 10 bindings from an unvalidated source within 3x", () => {
    const guard = new SourceGuard();
    const p = peer({ guard });
    const contacts = Array.from({ length: 10 }, (_, i) => `<sip:bob-${i}@192.0.2.50:5060;transport=tcp>;q=0.${i}`);
    const registrar: Remote = { address: "192.0.2.50", port: 40000, transport: "tcp" };
    assert.deepEqual(statuses(p.receive(register({ contacts, transport: "tcp" }), registrar, 0)), [200]);
    const query = register({ callId: "query@example.com" });
    const out = p.receive(query, SPOOFED, 10);
    // The 200 listing the ten bindings would be over 3x; the 503 that stands for it is not.
    assert.ok(peer().receive(register({ contacts }), registrar, 0)[0].data.length > 3 * query.length);
    assert.deepEqual(statuses(out), [503]);
    assert.equal(out[0].message.reason, TOO_LARGE);
    assert.ok(out[0].data.length <= 3 * query.length);
    assert.equal(p.bindings().length, 10, "a query changes nothing");
  });

  test("SipPeer with a guard gives a REGISTER query of few bindings its 200 when it fits 3x", () => {
    const p = peer({ guard: new SourceGuard() });
    const registrar: Remote = { address: "192.0.2.50", port: 40000, transport: "tcp" };
    p.receive(register({ contacts: ["<sip:bob@192.0.2.50>"], transport: "tcp" }), registrar, 0);
    const query = register({ callId: "query@example.com" });
    const out = p.receive(query, SPOOFED, 10);
    assert.deepEqual(statuses(out), [200]);
    assert.deepEqual(out[0].message.headers.getAll("Contact"), ["<sip:bob@192.0.2.50>;expires=3600"]);
    assert.ok(out[0].data.length <= 3 * query.length);
  });

  test("SipPeer with EDGE_LAB's guard answers a parsed message over UDP (no byte counted, no limit)", () => {
    const p = peer({ guard: new SourceGuard(EDGE_LAB) });
    const message = parseMessage(request("OPTIONS", { extra: ["Accept: text/plain"] }));
    assert.deepEqual(statuses(p.receive(message, SPOOFED, 0)), [200]);
    assert.deepEqual(statuses(p.receive(request("INVITE", { body: OFFER }), SPOOFED, 0)), [180, 200]);
  });
});

describe("SipPeer with a guard: the rate limit", () => {
  test("SipPeer with a guard answers the request over the rate 503 with Retry-After, then drops the source until its ban ends", () => {
    const events: PeerEvent[] = [];
    const p = peer({ guard: new SourceGuard({ rate: 5, burst: 5 }) }, events);
    let n = 0;
    const options = (remote: Remote, at: number) =>
      p.receive(request("OPTIONS", { branch: `z9hG4bK-${++n}`, callId: `c${n}` }), remote, at);
    for (let i = 0; i < 5; i++) assert.deepEqual(statuses(options(SPOOFED, 0)), [200], `request ${i + 1}`);
    const sixth = options(SPOOFED, 0);
    assert.deepEqual(statuses(sixth), [503]);
    assert.equal(sixth[0].message.reason, "Service Unavailable: too many requests from this source");
    assert.equal(sixth[0].message.headers.get("Retry-After"), "10");
    // Another source is answered throughout.
    assert.deepEqual(statuses(options(OTHER, 0)), [200]);
    // The banned source: nothing, not even an event for what it sends.
    assert.deepEqual(options(SPOOFED, 1), []);
    assert.deepEqual(options(SPOOFED, 2), []);
    assert.deepEqual(p.receive(encoder.encode("\x00\x01garbage"), SPOOFED, 3), []);
    assert.deepEqual(statuses(options(OTHER, 5000)), [200]);
    assert.deepEqual(options(SPOOFED, 9999), []);
    // The ban is over: answered again, and told how many were dropped.
    assert.deepEqual(statuses(options(SPOOFED, 10_000)), [200]);
    assert.deepEqual(limits(events, "rate"), [
      "rate: 198.51.100.7 sent over 5 messages/s (burst 5): answered 503, ignored for 10 s",
      "rate: 198.51.100.7: 4 messages dropped during its ban",
    ]);
    assert.deepEqual(events.filter((e) => e.kind === "parse-error"), []);
  });

  test("SipPeer with a guard does not answer an ACK that goes over the rate", () => {
    const p = peer({ guard: new SourceGuard({ rate: 1, burst: 1 }) });
    assert.deepEqual(statuses(p.receive(request("OPTIONS"), SPOOFED, 0)), [200]);
    assert.deepEqual(p.receive(request("ACK", { toTag: "x" }), SPOOFED, 0), []);
    assert.deepEqual(p.receive(request("OPTIONS", { branch: "z9hG4bK-2" }), SPOOFED, 1), []);
  });
});

describe("SipPeer with a guard: garbage", () => {
  test("SipPeer drops datagrams that cannot be SIP before parsing them, with one event each", () => {
    const events: PeerEvent[] = [];
    const p = peer({ guard: new SourceGuard() }, events);
    const garbage: [Uint8Array, string][] = [
      [
        new Uint8Array([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]), // a STUN binding request
        String.raw`8 bytes starting "\\x00\\x01\\x00\\x00!\\x12\\xa4B"`,
      ],
      [
        new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]),
        String.raw`6 bytes starting "\\x16\\x03\\x01\\x02\\x00\\x01"`,
      ],
      [encoder.encode("x".repeat(100)), '100 bytes starting "xxxxxxxxxxxxxxxx"'],
      [encoder.encode("\r\n\r\n"), String.raw`4 bytes starting "\\x0d\\x0a\\x0d\\x0a"`],
    ];
    for (const [bytes, what] of garbage) {
      const before = events.length;
      assert.deepEqual(p.receive(bytes, SPOOFED, 0), []);
      assert.deepEqual(events.slice(before).map((e) => [e.kind, e.message]), [
        ["parse-error", `dropped: not a SIP message (${what})`],
      ]);
    }
    // Something that starts like SIP goes on to the parser, which says what is wrong with it.
    events.length = 0;
    assert.deepEqual(p.receive(encoder.encode("hello world\r\n"), SPOOFED, 0), []);
    assert.equal(events.length, 1);
    assert.equal(events[0].kind, "parse-error");
    assert.doesNotMatch(events[0].message, /not a SIP message/);
  });

  test("SipPeer with a guard throttles the events of garbage: logBurst per source per window, then a held-back count", () => {
    const events: PeerEvent[] = [];
    const p = peer({ guard: new SourceGuard({ logBurst: 2, logWindow: 1000 }) }, events);
    const junk = new Uint8Array([0, 1, 2, 3]);
    for (let t = 0; t < 5; t++) p.receive(junk, SPOOFED, t);
    assert.equal(events.length, 2);
    // Another source has its own burst.
    p.receive(junk, OTHER, 5);
    assert.equal(events.length, 3);
    assert.equal(events[2].remote, OTHER);
    // The next window: the count of the lines held back, once, then the line.
    events.length = 0;
    p.receive(junk, SPOOFED, 1000);
    p.receive(junk, SPOOFED, 1001);
    assert.deepEqual(events.map((e) => [e.at, e.kind, e.message]), [
      [1000, "limit", "log: 3 lines held back (at most 2 per source and 100 in all per 1 s)"],
      [1000, "parse-error", String.raw`dropped: not a SIP message (4 bytes starting "\\x00\\x01\\x02\\x03")`],
      [1001, "parse-error", String.raw`dropped: not a SIP message (4 bytes starting "\\x00\\x01\\x02\\x03")`],
    ]);
  });
});

describe("SipPeer with a guard: shares of the tables", () => {
  test("SipPeer with a guard answers 503 to a source holding its share of transactions, tombstones included", () => {
    const events: PeerEvent[] = [];
    const guard = new SourceGuard({ share: 0.5 });
    const p = peer({ guard, limits: { transactions: 4 } }, events);
    const options = (remote: Remote, i: number, at = 0) =>
      p.receive(request("OPTIONS", { branch: `z9hG4bK-${remote.address}-${i}` }), remote, at);
    assert.deepEqual(statuses(options(SPOOFED, 1)), [200]);
    assert.deepEqual(statuses(options(SPOOFED, 2)), [200]);
    // Both answered: tombstones now, until Timer J, still counted.
    assert.deepEqual(p.transactions.map((t) => t.state), ["Completed", "Completed"]);
    const refused = options(SPOOFED, 3);
    assert.deepEqual(statuses(refused), [503]);
    assert.equal(refused[0].message.reason, "Service Unavailable: too many transactions from this source");
    assert.equal(refused[0].message.headers.get("Retry-After"), "5");
    assert.deepEqual(statuses(options(OTHER, 1)), [200]);
    assert.deepEqual(limits(events, "share"), ["share: 198.51.100.7 holds its share of the transactions: 503"]);
    // Timer J ends them: the source holds nothing and is answered again.
    runUntil(p, ALL_TIMERS);
    assert.equal(p.transactions.length, 0);
    assert.deepEqual(guard.peek(SPOOFED.address)!.held, guard.peek(OTHER.address)!.held);
    assert.deepEqual(guard.peek(SPOOFED.address)!.held.transactions, 0);
    assert.deepEqual(statuses(options(SPOOFED, 4, ALL_TIMERS)), [200]);
  });

  test("SipPeer with a guard answers 503 to a source holding its share of transactions at work, until their timers end them", () => {
    const guard = new SourceGuard({ share: 0.5 });
    const p = peer({ guard, limits: { pending: 4 }, timers: { C: 10_000 } });
    const ring = (remote: Remote, callId: string) =>
      p.receive(request("INVITE", { user: "noanswer", callId, branch: `z9hG4bK-${callId}` }), remote, 0);
    assert.deepEqual(statuses(ring(SPOOFED, "c1")), [180]);
    assert.deepEqual(statuses(ring(SPOOFED, "c2")), [180]);
    const refused = p.receive(request("OPTIONS"), SPOOFED, 10);
    assert.deepEqual(statuses(refused), [503]);
    assert.equal(refused[0].message.reason, "Service Unavailable: too many transactions in progress from this source");
    assert.deepEqual(statuses(ring(OTHER, "c3")), [180]);
    const held = guard.peek(SPOOFED.address)!.held;
    assert.deepEqual([held.pending, held.transactions], [2, 2]);
    // Timer C (408), then Timer H (no ACK): every entry ends.
    runUntil(p, 10_000 + ALL_TIMERS);
    assert.equal(p.transactions.length, 0);
    assert.deepEqual([held.pending, held.transactions], [0, 0]);
    assert.deepEqual(statuses(p.receive(request("OPTIONS", { branch: "z9hG4bK-later" }), SPOOFED, 50_000)), [200]);
  });

  test("SipPeer with a guard answers 503 to an INVITE from a source holding its share of dialogs; BYE gives it back", () => {
    const events: PeerEvent[] = [];
    const guard = new SourceGuard({ share: 0.5 });
    const p = peer({ guard, limits: { dialogs: 4 } }, events);
    const tags = new Map<string, string>();
    const call = (remote: Remote, callId: string, at: number) => {
      const out = p.receive(request("INVITE", { body: OFFER, callId, branch: `z9hG4bK-${callId}` }), remote, at);
      const final = out.at(-1)!.message;
      if (final.status === 200) {
        tags.set(callId, final.to.tag!);
        p.receive(request("ACK", { callId, branch: `z9hG4bK-ack-${callId}`, toTag: final.to.tag }), remote, at);
      }
      return out;
    };
    assert.deepEqual(statuses(call(SPOOFED, "c1", 0)), [180, 200]);
    assert.deepEqual(statuses(call(SPOOFED, "c2", 10)), [180, 200]);
    const refused = call(SPOOFED, "c3", 20);
    assert.deepEqual(statuses(refused), [503]);
    assert.equal(refused[0].message.reason, "Service Unavailable: too many dialogs from this source");
    assert.equal(refused[0].message.headers.get("Retry-After"), "5");
    assert.deepEqual(statuses(call(OTHER, "c4", 30)), [180, 200]);
    const held = guard.peek(SPOOFED.address)!.held;
    assert.equal(held.dialogs, 2);
    const bye = (remote: Remote, callId: string, at: number) =>
      p.receive(
        request("BYE", { callId, toTag: tags.get(callId), cseq: 2, branch: `z9hG4bK-bye-${callId}` }),
        remote,
        at,
      );
    assert.deepEqual(statuses(bye(SPOOFED, "c1", 40)), [200]);
    assert.equal(held.dialogs, 1);
    assert.deepEqual(statuses(call(SPOOFED, "c5", 50)), [180, 200]);
    for (const callId of ["c2", "c5"]) bye(SPOOFED, callId, 60);
    assert.equal(held.dialogs, 0);
    assert.equal(p.dialogs.length, 1, "the other source's call");
  });

  test("SipPeer with a guard answers 503 to a source holding its share of RTP streams; rtpRelease gives them back", () => {
    const free = [20000, 20002, 20004, 20006, 20008, 20010];
    const ports = new Map<string, number[]>();
    const asked: string[] = [];
    const released: string[] = [];
    const guard = new SourceGuard({ share: 0.5 });
    const p = peer({
      guard,
      limits: { streams: 4 },
      rtpPort: (callId, index) => {
        asked.push(`${callId}/${index}`);
        const list = ports.get(callId) ?? [];
        list[index] ??= free.shift()!;
        ports.set(callId, list);
        return list[index];
      },
      rtpRelease: (callId, reason) => {
        released.push(`${callId} ${reason}`);
        free.push(...ports.get(callId) ?? []);
        ports.delete(callId);
      },
    });
    const invite = (remote: Remote, callId: string, body: string) =>
      p.receive(request("INVITE", { body, callId, branch: `z9hG4bK-${callId}` }), remote, 0);
    const ok = invite(SPOOFED, "c1", TWO_STREAMS).at(-1)!.message;
    assert.equal(ok.status, 200);
    assert.deepEqual(parseSdp(ok.bodyText).media.map((m) => m.port), [20000, 20002]);
    p.receive(request("ACK", { callId: "c1", branch: "z9hG4bK-ack", toTag: ok.to.tag }), SPOOFED, 1);
    const held = guard.peek(SPOOFED.address)!.held;
    assert.equal(held.streams, 2);
    const refused = invite(SPOOFED, "c2", OFFER);
    assert.deepEqual(statuses(refused), [503]);
    assert.equal(refused[0].message.reason, "Service Unavailable: too many RTP streams from this source");
    assert.equal(refused[0].message.headers.get("Retry-After"), "5");
    assert.equal(asked.filter((a) => a.startsWith("c2/")).length, 0, "no port asked for past the share");
    assert.equal(invite(OTHER, "c3", OFFER).at(-1)!.message.status, 200);
    assert.equal(held.streams, 2);
    p.receive(request("BYE", { callId: "c1", toTag: ok.to.tag, cseq: 2, branch: "z9hG4bK-bye" }), SPOOFED, 2);
    assert.ok(released.includes("c1 bye"));
    assert.equal(held.streams, 0);
    assert.equal(invite(SPOOFED, "c4", OFFER).at(-1)!.message.status, 200);
    assert.equal(held.streams, 1);
    // Never acknowledged: Timer L drops the dialog and gives the stream back.
    runUntil(p, ALL_TIMERS);
    assert.ok(released.includes("c4 no-ack"));
    assert.equal(held.streams, 0);
  });

  test("SipPeer with a guard answers 503 to a REGISTER from a source holding its share of bindings", () => {
    const p = peer({ guard: new SourceGuard({ share: 0.5 }), limits: { bindings: 4 } });
    const source = SPOOFED.address;
    const contacts = ["<sip:alice@198.51.100.7:5070>", "<sip:alice@198.51.100.7:5072>"];
    assert.deepEqual(statuses(p.receive(register({ user: "alice", contacts }), SPOOFED, 0)), [200]);
    assert.equal(p.registrar.bindingsOf(source), 2);
    const refused = p.receive(register({ user: "bob", contacts: ["<sip:bob@198.51.100.7>"] }), SPOOFED, 10);
    assert.deepEqual(statuses(refused), [503]);
    assert.equal(refused[0].message.reason, "Service Unavailable: too many bindings from this source");
    assert.equal(refused[0].message.headers.get("Retry-After"), "5");
    const carol = register({ user: "carol", contacts: ["<sip:carol@203.0.113.5>"] });
    assert.deepEqual(statuses(p.receive(carol, OTHER, 20)), [200]);
    // Removed: the share is back.
    const remove = register({ user: "alice", contacts: ["*"], cseq: 2, extra: ["Expires: 0"] });
    assert.deepEqual(statuses(p.receive(remove, SPOOFED, 30)), [200]);
    assert.equal(p.registrar.bindingsOf(source), 0);
    const bob = register({ user: "bob", contacts: ["<sip:bob@198.51.100.7>"], cseq: 2, extra: ["Expires: 60"] });
    assert.deepEqual(statuses(p.receive(bob, SPOOFED, 40)), [200]);
    assert.equal(p.registrar.bindingsOf(source), 1);
    // Expired: given back too.
    assert.equal(p.bindings(60_040).length, 1, "carol's");
    assert.equal(p.registrar.bindingsOf(source), 0);
  });

  test("SipPeer with a guard accepts exactly streamsPerCall of 1,000 m-lines and asks rtpPort that many times", () => {
    const offer = "v=0\r\no=alice 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n" +
      Array.from({ length: 1000 }, (_, i) => `m=audio ${10000 + 2 * i} RTP/AVP 0\r\n`).join("");
    for (const streamsPerCall of [undefined, 2]) {
      const asked: number[] = [];
      const p = peer({
        guard: new SourceGuard(),
        limits: streamsPerCall === undefined ? {} : { streamsPerCall },
        rtpPort: (_callId, index) => {
          asked.push(index);
          return 30000 + 2 * index;
        },
      });
      const ok = p.receive(request("INVITE", { body: offer }), SPOOFED, 0).at(-1)!.message;
      assert.equal(ok.status, 200);
      const media = parseSdp(ok.bodyText).media;
      const accepted = streamsPerCall ?? 4;
      assert.equal(media.length, 1000, "one m-line for each offered (RFC 3264 §6)");
      assert.deepEqual(media.filter((m) => m.port !== 0).map((m) => m.port), asked.map((i) => 30000 + 2 * i));
      assert.equal(asked.length, accepted);
    }
  });

  test("SipPeer with a guard takes a CANCEL of a ringing INVITE from a source holding its share of transactions at work", () => {
    const guard = new SourceGuard({ share: 0.5 });
    const p = peer({ guard, limits: { pending: 4 } });
    const ring = (callId: string) =>
      p.receive(request("INVITE", { user: "noanswer", callId, branch: `z9hG4bK-${callId}` }), SPOOFED, 0);
    const tag = ring("c1")[0].message.to.tag;
    ring("c2");
    assert.deepEqual(statuses(p.receive(request("OPTIONS"), SPOOFED, 10)), [503]);
    // The CANCEL ends what holds the share: it must not be refused for it.
    const cancel = p.receive(request("CANCEL", { user: "noanswer", callId: "c1", branch: "z9hG4bK-c1" }), SPOOFED, 20);
    assert.deepEqual(statuses(cancel), [200, 487]);
    assert.equal(cancel[1].message.to.tag, tag);
    // The 487 is acknowledged: the INVITE is done with, the share has room again.
    p.receive(request("ACK", { user: "noanswer", callId: "c1", branch: "z9hG4bK-c1", toTag: tag }), SPOOFED, 30);
    assert.equal(guard.peek(SPOOFED.address)!.held.pending, 1);
    assert.deepEqual(statuses(p.receive(request("OPTIONS", { branch: "z9hG4bK-o2" }), SPOOFED, 40)), [200]);
    // A CANCEL that matches nothing at work is still subject to the share.
    ring("c3");
    const stray = p.receive(request("CANCEL", { callId: "c9", branch: "z9hG4bK-c9" }), SPOOFED, 50);
    assert.deepEqual(statuses(stray), [503]);
  });
});

describe("SipPeer with a guard: what a refusal leaves behind", () => {
  test("SipPeer takes back a REGISTER whose 200 is over an unvalidated source's budget: the 503 means nothing was done", () => {
    const guard = new SourceGuard();
    const p = peer({ guard });
    const contact = (i: number) =>
      `<sip:bob-device-${i}-with-a-long-name@198.51.100.7:5070;transport=udp>;+sip.instance="<urn:uuid:${i}>"`;
    // Nine bindings from a source validated once (a TCP REGISTER is never limited).
    for (let i = 0; i < 9; i++) {
      assert.deepEqual(
        statuses(p.receive(register({ contacts: [contact(i)], cseq: i + 1, transport: "tcp" }), TCP, i)),
        [200],
      );
    }
    assert.equal(p.bindings().length, 9);
    // The tenth over UDP from a spoofed source: its 200 would list ten bindings, far over 3x.
    const out = p.receive(register({ contacts: [contact(9)], cseq: 20 }), SPOOFED, 100);
    assert.deepEqual(statuses(out), [503]);
    assert.equal(out[0].message.reason, "Service Unavailable: answer too large for an unverified address");
    assert.equal(p.bindings().length, 9, "the 503'd REGISTER left no binding");
    assert.equal(p.registrar.bindingsOf(SPOOFED.address), 9, "nor any count against the source's share");
  });

  test("SipPeer with a guard takes a BYE in one of its dialogs from a source holding its share of transactions", () => {
    const guard = new SourceGuard({ share: 0.5 });
    const p = peer({ guard, limits: { transactions: 6 } });
    const ok = p.receive(request("INVITE", { body: OFFER, callId: "d1", branch: "z9hG4bK-d1" }), SPOOFED, 0);
    const tag = ok.at(-1)!.message.to.tag!;
    p.receive(request("ACK", { callId: "d1", branch: "z9hG4bK-d1a", toTag: tag }), SPOOFED, 1);
    // Fill the share (3 of 6) with OPTIONS, whose tombstones stay 32 s.
    assert.deepEqual(statuses(p.receive(request("OPTIONS", { branch: "z9hG4bK-o1" }), SPOOFED, 2)), [200]);
    assert.deepEqual(statuses(p.receive(request("OPTIONS", { branch: "z9hG4bK-o2" }), SPOOFED, 3)), [200]);
    assert.deepEqual(statuses(p.receive(request("OPTIONS", { branch: "z9hG4bK-o3" }), SPOOFED, 4)), [503]);
    // The BYE ends what the source holds: it is taken.
    const bye = p.receive(request("BYE", { callId: "d1", branch: "z9hG4bK-d1b", cseq: 2, toTag: tag }), SPOOFED, 5);
    assert.deepEqual(statuses(bye), [200]);
    assert.equal(p.dialogs.length, 0);
    // A request in no dialog of ours is still held to the share.
    const stray = p.receive(request("BYE", { callId: "d9", branch: "z9hG4bK-d9", cseq: 2, toTag: "nope" }), SPOOFED, 6);
    assert.deepEqual(statuses(stray), [503]);
  });
});

describe("SipPeer with a guard: responses too large for UDP", () => {
  test("SipPeer answers an OPTIONS with 2,000 Vias with a 513 that keeps one Via and says why in a Warning", () => {
    const events: PeerEvent[] = [];
    const vias = Array.from(
      { length: 2000 },
      (_, i) => `SIP/2.0/UDP 10.0.${i >> 8}.${i & 255}:5060;branch=z9hG4bK-${i}`,
    );
    const lines: string[] = [];
    for (let i = 0; i < vias.length; i += 250) lines.push(vias.slice(i, i + 250).join(", "));
    const bytes = request("OPTIONS", { vias: lines });
    const out = peer({ guard: new SourceGuard() }, events).receive(bytes, SPOOFED, 0);
    assert.equal(out.length, 1);
    const response = out[0].message;
    assert.equal(response.status, 513);
    assert.ok(out[0].data.length <= 65_507);
    assert.deepEqual(response.headers.getAll("Via"), [
      "SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bK-OPTIONS;rport=5070;received=198.51.100.7",
    ]);
    assert.match(
      response.headers.get("Warning") ?? "",
      /^399 192\.0\.2\.1:5060 "a 513 response of \d+ bytes does not fit a UDP datagram"$/,
    );
    assert.equal(response.headers.get("Call-ID"), "call-1@example.com");
    assert.ok(events.some((e) => e.kind === "dropped" && /does not fit UDP: 513 sent instead$/.test(e.message)));
  });

  test("SipPeer answers a request that fits a datagram but whose response would not with a 513 that fits", () => {
    // Vias in one field of the request, one field each in a response: the 200 grows past 65,507.
    for (const size of [64_000, 65_300, 65_507]) {
      const via = (i: number) => `SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-${String(i).padStart(6, "0")}`;
      const base = request("OPTIONS", { vias: [""] }).length;
      const count = Math.floor((size - base + 2) / (via(0).length + 2));
      const bytes = request("OPTIONS", { vias: [Array.from({ length: count }, (_, i) => via(i)).join(", ")] });
      assert.ok(bytes.length <= size && bytes.length > size - 100, String(bytes.length));
      assert.ok(peer().receive(bytes, TCP, 0)[0].data.length > 65_507, "the 200, where size does not matter");
      const [out] = peer({ guard: new SourceGuard() }).receive(bytes, SPOOFED, 0);
      assert.equal(out.message.status, 513);
      assert.equal(out.message.reason, "Message Too Large: any response would be too large for UDP");
      assert.ok(out.data.length <= 65_507, `${out.data.length} bytes for a request of ${bytes.length}`);
      assert.match(out.message.headers.get("Warning") ?? "", /^399 192\.0\.2\.1:5060 "a 200 response of \d+ bytes/);
    }
  });

  test("SipPeer answers a REGISTER with 2,000 Contacts with the registrar's 403, without reading them one by one", () => {
    const contacts = Array.from({ length: 2000 }, (_, i) => `<sip:u${i}@10.0.0.1>`);
    const bytes = register({ contacts });
    assert.ok(bytes.length <= 65_507);
    const p = peer({ guard: new SourceGuard() });
    const out = p.receive(bytes, SPOOFED, 0);
    assert.deepEqual(statuses(out), [403]);
    assert.equal(out[0].message.reason, "Forbidden: too many contacts for sip:bob@example.com (at most 10)");
    assert.equal(p.bindings().length, 0);
    // The count alone decides: the parsed Contact values are never asked for.
    const message = parseMessage(bytes) as SipRequest;
    let read = 0;
    Object.defineProperty(message, "contact", {
      get() {
        read++;
        throw new Error("the Contact values were read");
      },
    });
    assert.deepEqual(statuses(peer({ guard: new SourceGuard() }).receive(message, TCP, 0)), [403]);
    assert.equal(read, 0);
  });

  test("SipPeer replaces a rule's 70 KB answer over UDP with a 500 and a Warning; over TCP it goes whole", () => {
    const rules = parseRules(JSON.stringify([{
      match: { method: "MESSAGE" },
      respond: { status: 200, body: { type: "text/plain", text: "x".repeat(70_000) } },
    }]));
    const udp = peer({ guard: new SourceGuard(), rules }).receive(request("MESSAGE"), SPOOFED, 0);
    assert.deepEqual(statuses(udp), [500]);
    assert.equal(udp[0].message.reason, "Server Internal Error: response too large for UDP");
    assert.match(
      udp[0].message.headers.get("Warning") ?? "",
      /^399 192\.0\.2\.1:5060 "a 200 response of \d+ bytes does not fit a UDP datagram"$/,
    );
    assert.equal(udp[0].message.body.length, 0);
    const tcp = peer({ guard: new SourceGuard(), rules }).receive(request("MESSAGE", { transport: "tcp" }), TCP, 0);
    assert.deepEqual(statuses(tcp), [200]);
    assert.equal(tcp[0].message.body.length, 70_000);
  });
});

describe("SipPeer compaction of a transaction that waits", () => {
  const KEPT = ["Via", "From", "To", "Call-ID", "CSeq", "Contact", "Record-Route", "Timestamp"];
  const extra = [
    "Record-Route: <sip:p1.example.com;lr>",
    "Timestamp: 54.2",
    "Subject: a long wait",
    `X-Padding: ${"p".repeat(60_000)}`,
  ];
  const vias = ["SIP/2.0/UDP 192.0.2.77:5060;branch=z9hG4bK-proxy"];

  function held(p: SipPeer): SipRequest {
    return (p.transactions[0] as ServerTransaction<{ status: number }>).request;
  }

  function expected(status: string, tag: string): string {
    return `SIP/2.0 ${status}\r\n` +
      "Via: SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bK-INVITE;rport=5070;received=198.51.100.7\r\n" +
      "Via: SIP/2.0/UDP 192.0.2.77:5060;branch=z9hG4bK-proxy\r\n" +
      'From: "Alice" <sip:alice@example.com>;tag=a1\r\n' +
      `To: <sip:noanswer@192.0.2.1>;tag=${tag}\r\n` +
      "Call-ID: call-1@example.com\r\nCSeq: 1 INVITE\r\nServer: sipecho/0.1\r\nContent-Length: 0\r\n\r\n";
  }

  test("SipPeer keeps only the fields a held INVITE still needs, as copies, with no body", () => {
    const p = peer({ guard: new SourceGuard() });
    const bytes = request("INVITE", { user: "noanswer", body: OFFER, extra, vias });
    const original = parseMessage(bytes) as SipRequest;
    assert.deepEqual(statuses(p.receive(bytes, SPOOFED, 0)), [180]);
    const kept = held(p);
    assert.equal(kept.method, "INVITE");
    assert.equal(kept.uri, "sip:noanswer@192.0.2.1");
    assert.deepEqual(
      kept.headers.fields.map((f) => [f.name, f.value]),
      original.headers.fields.filter((f) => KEPT.includes(f.name)).map((f) => [f.name, f.value]),
    );
    assert.equal(kept.body.length, 0);
    assert.equal(kept.headers.get("X-Padding"), undefined);
    assert.equal(kept.headers.get("Content-Type"), undefined);
  });

  test("SipPeer sends the same 487 after CANCEL from a compacted INVITE as RFC 3261 §8.2.6 makes of the whole one", () => {
    const p = peer({ guard: new SourceGuard() });
    const out = p.receive(request("INVITE", { user: "noanswer", body: OFFER, extra, vias }), SPOOFED, 0);
    const tag = out[0].message.to.tag!;
    const cancel = p.receive(request("CANCEL", { user: "noanswer", branch: "z9hG4bK-INVITE", vias }), SPOOFED, 100);
    assert.deepEqual(statuses(cancel), [200, 487]);
    assert.equal(decoder.decode(cancel[1].data), expected("487 Request Terminated", tag));
  });

  test("SipPeer sends the same 408 on Timer C from a compacted INVITE as RFC 3261 §8.2.6 makes of the whole one", () => {
    const p = peer({ guard: new SourceGuard(), timers: { C: 10_000 } });
    const out = p.receive(request("INVITE", { user: "noanswer", body: OFFER, extra, vias }), SPOOFED, 0);
    const tag = out[0].message.to.tag!;
    const timeout = runUntil(p, 10_000);
    assert.deepEqual(timeout.map((o) => [o.at, o.message.status]), [[10_000, 408]]);
    assert.equal(decoder.decode(timeout[0].data), expected("408 Request Timeout", tag));
  });

  test("SipPeer makes the dialog of a delayed 2xx from the compacted INVITE: its BYE follows Contact and Record-Route", () => {
    const p = peer({ guard: new SourceGuard() });
    const out = p.receive(request("INVITE", { user: "slow", body: OFFER, extra, vias }), SPOOFED, 0);
    assert.deepEqual(statuses(out), [180]);
    assert.equal(held(p).headers.get("X-Padding"), undefined);
    const ok = runUntil(p, 3000);
    assert.deepEqual(statuses(ok), [200]);
    assert.equal(parseSdp(ok[0].message.bodyText).media[0].port, 4000, "the answer was written before compaction");
    const tag = ok[0].message.to.tag!;
    p.receive(request("ACK", { user: "slow", branch: "z9hG4bK-ack", toTag: tag }), SPOOFED, 3100);
    const [bye] = p.bye("call-1@example.com", 4000);
    assert.equal(bye.message.uri, "sip:alice@198.51.100.7:5070");
    assert.deepEqual(bye.message.headers.getAll("Route"), ["<sip:p1.example.com;lr>"]);
    assert.equal(bye.message.headers.get("From"), `<sip:slow@192.0.2.1>;tag=${tag}`);
    assert.equal(bye.message.headers.get("To"), "<sip:alice@example.com>;tag=a1");
  });

  test("SipPeer compacts an INVITE whose 2xx waits for its ACK at the first retransmission, and the dialog still works", () => {
    const p = peer({ guard: new SourceGuard() });
    const bytes = request("INVITE", { body: OFFER, extra, transport: "tcp" });
    const out = p.receive(bytes, TCP, 0);
    const ok = out.at(-1)!;
    assert.equal(ok.message.status, 200);
    assert.notEqual(held(p).headers.get("X-Padding"), undefined, "answered at once: nothing held yet");
    const resent = p.tick(500);
    assert.deepEqual(statuses(resent), [200]);
    assert.deepEqual(resent[0].data, ok.data);
    assert.equal(held(p).headers.get("X-Padding"), undefined);
    assert.equal(held(p).body.length, 0);
    const ack = request("ACK", { branch: "z9hG4bK-ack", toTag: ok.message.to.tag, transport: "tcp" });
    p.receive(ack, TCP, 600);
    assert.equal(p.dialogs[0].acked, true);
    assert.deepEqual(runUntil(p, 600 + ALL_TIMERS), []);
  });
});

describe("SipPeer idle dialogs (timers.dialogIdle)", () => {
  test("SipPeer ends a confirmed dialog idle for dialogIdle with a BYE from takeRequests(), counting from its last request", () => {
    const events: PeerEvent[] = [];
    const guard = new SourceGuard();
    const p = peer({ guard, timers: { dialogIdle: 1000 } }, events);
    const ok = p.receive(request("INVITE", { body: OFFER }), SPOOFED, 0).at(-1)!.message;
    const tag = ok.to.tag!;
    p.receive(request("ACK", { branch: "z9hG4bK-ack", toTag: tag }), SPOOFED, 10);
    const info = request("INFO", { toTag: tag, cseq: 2, branch: "z9hG4bK-info" });
    assert.deepEqual(statuses(p.receive(info, SPOOFED, 800)), [200]);
    // Idle since 800: not at 1500, nor at 1799.
    runUntil(p, 1500);
    assert.deepEqual(p.takeRequests(), []);
    runUntil(p, 1799);
    assert.deepEqual(p.takeRequests(), []);
    assert.equal(p.dialogs.length, 1);
    // Looked at every quarter of dialogIdle: ended at the first look at or after 1800.
    runUntil(p, 1800 + 250);
    const requests = p.takeRequests();
    assert.equal(requests.length, 1);
    const [bye] = requests;
    assert.equal(bye.message.method, "BYE");
    assert.equal(bye.message.callId, "call-1@example.com");
    assert.equal(bye.message.from.tag, tag);
    assert.equal(bye.remote, SPOOFED);
    assert.ok(bye.at >= 1800 && bye.at <= 2050, String(bye.at));
    assert.equal(p.dialogs.length, 0);
    assert.equal(guard.peek(SPOOFED.address)!.held.dialogs, 0);
    assert.deepEqual(events.filter((e) => e.kind === "timeout").map((e) => [e.at, e.message]), [
      [bye.at, "dialog call-1@example.com: no request for 1000 ms: the peer ends it with BYE"],
    ]);
    assert.deepEqual(p.takeRequests(), [], "taken once");
    // Nothing left to look at: the sweep stops.
    runUntil(p, 100_000);
    assert.equal(p.nextTimer(), undefined);
  });

  test("SipPeer leaves a dialog never acknowledged to Timer L, not to dialogIdle", () => {
    const events: PeerEvent[] = [];
    const p = peer({ guard: new SourceGuard(), timers: { dialogIdle: 1000 } }, events);
    p.receive(request("INVITE", { body: OFFER }), SPOOFED, 0);
    runUntil(p, 31_999);
    assert.equal(p.dialogs.length, 1);
    runUntil(p, 32_000);
    assert.equal(p.dialogs.length, 0);
    assert.deepEqual(p.takeRequests(), []);
    assert.deepEqual(events.filter((e) => e.kind === "timeout").map((e) => [e.at, e.message]), [
      [32_000, "INVITE call-1@example.com: no ACK for the 2xx (Timer L); dialog dropped"],
    ]);
  });
});

describe("responseDestination() and maddr", () => {
  const source = { address: "192.0.2.7", port: 40000 };

  test("responseDestination() follows a multicast maddr, at the sent-by port", () => {
    assert.deepEqual(responseDestination({ maddr: "239.1.1.1", port: 5062 }, source), {
      address: "239.1.1.1",
      port: 5062,
    });
    assert.deepEqual(responseDestination({ maddr: "224.0.1.75", rport: 40000 }, source), {
      address: "224.0.1.75",
      port: 5060,
    });
    assert.deepEqual(responseDestination({ maddr: "[ff02::1]", port: 5062 }, { address: "2001:db8::7", port: 1 }), {
      address: "ff02::1",
      port: 5062,
    });
  });

  test("responseDestination() follows a maddr equal to the source, mapped or not", () => {
    assert.deepEqual(responseDestination({ maddr: "192.0.2.7", port: 5062 }, source), {
      address: "192.0.2.7",
      port: 5062,
    });
    assert.deepEqual(responseDestination({ maddr: "192.0.2.7" }, { address: "::ffff:192.0.2.7", port: 40000 }), {
      address: "192.0.2.7",
      port: 5060,
    });
  });

  test("responseDestination() ignores another unicast maddr: routed as without it, with and without rport", () => {
    const cases = [
      { port: 5062 },
      { port: 5062, rport: 40000, received: "192.0.2.7" },
      { port: 5062, rport: null },
      { received: "192.0.2.7" },
    ];
    for (const via of cases) {
      assert.deepEqual(
        responseDestination({ ...via, maddr: "198.51.100.1" }, source),
        responseDestination(via, source),
        JSON.stringify(via),
      );
      assert.equal(responseDestination({ ...via, maddr: "198.51.100.1" }, source).address, "192.0.2.7");
    }
    assert.deepEqual(responseDestination({ maddr: "198.51.100.1", port: 5062 }, source), {
      address: "192.0.2.7",
      port: 5062,
    });
    assert.deepEqual(responseDestination({ maddr: "198.51.100.1", rport: 40000 }, source), source);
  });

  test("responseDestination() ignores a host name in maddr: never resolved", () => {
    for (const maddr of ["sip.example.com", "localhost", "239.1.1.1.example.com"]) {
      assert.deepEqual(responseDestination({ maddr, port: 5062 }, source), { address: "192.0.2.7", port: 5062 });
      assert.deepEqual(responseDestination({ maddr, rport: 40000 }, source), source);
    }
  });

  test("SipPeer gives responseDestination() the Via of a request with a maddr pointing elsewhere: back to the source", () => {
    const bytes = encoder.encode(sip([
      "OPTIONS sip:echo@192.0.2.1 SIP/2.0",
      "Via: SIP/2.0/UDP 10.0.0.2:5062;branch=z9hG4bK-m;maddr=198.51.100.1",
      "From: <sip:a@example.com>;tag=1",
      "To: <sip:echo@192.0.2.1>",
      "Call-ID: m1",
      "CSeq: 1 OPTIONS",
      "Content-Length: 0",
    ]));
    const [out] = peer({ guard: new SourceGuard() }).receive(bytes, SPOOFED, 0);
    assert.equal(out.via?.maddr, "198.51.100.1");
    assert.deepEqual(responseDestination(out.via!, out.remote), { address: "198.51.100.7", port: 5062 });
  });
});
