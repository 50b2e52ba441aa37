import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type Output, type PeerEvent, type PeerOptions, type Remote, SipPeer } from "../../src/ua/peer.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import { formatMessage } from "../../src/sip/format.ts";
import { parseRules } from "../../src/rules/rules.ts";
import { answerSdp, formatSdp, parseSdp } from "../../src/media/sdp.ts";
import { sip, torture } from "../_data.ts";
import { decoder, encoder, offerFrom, peer, requestsFrom, runUntil, statuses } from "./_peer.ts";

const UDP: Remote = { address: "192.0.2.9", port: 5070, transport: "udp" };
const TCP: Remote = { address: "192.0.2.9", port: 40001, transport: "tcp" };
const OFFER = offerFrom("192.0.2.9");
const request = requestsFrom("192.0.2.9:5070");

function text(o: Output): string {
  return decoder.decode(o.data);
}

describe("SipPeer OPTIONS and simple methods", () => {
  test("SipPeer answers OPTIONS with Allow, Accept and Supported, received/rport filled in (exact bytes)", () => {
    const out = peer().receive(request("OPTIONS"), UDP, 0);
    assert.equal(out.length, 1);
    assert.equal(out[0].at, 0);
    assert.equal(out[0].remote, UDP);
    assert.match(
      text(out[0]),
      new RegExp(
        "^SIP/2\\.0 200 OK\r\n" +
          "Via: SIP/2\\.0/UDP 192\\.0\\.2\\.9:5070;branch=z9hG4bK-OPTIONS;rport=5070;received=192\\.0\\.2\\.9\r\n" +
          'From: "Alice" <sip:alice@example\\.com>;tag=a1\r\n' +
          "To: <sip:echo@192\\.0\\.2\\.1>;tag=[0-9a-f]{8}\r\n" +
          "Call-ID: call-1@example\\.com\r\nCSeq: 1 OPTIONS\r\n" +
          "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, MESSAGE, INFO, UPDATE, PRACK, NOTIFY, SUBSCRIBE, REFER\r\n" +
          "Accept: application/sdp\r\nAccept-Encoding: identity\r\nAccept-Language: en\r\nSupported: path, 100rel, timer, replaces\r\n" +
          "Server: sipecho/0\\.1\r\nContent-Length: 0\r\n\r\n$",
      ),
    );
  });

  test("SipPeer lists the test users in the OPTIONS body when text/plain is accepted", () => {
    const out = peer().receive(request("OPTIONS", { extra: ["Accept: application/sdp, text/plain"] }), UDP, 0);
    const body = out[0].message.bodyText;
    assert.equal(out[0].message.headers.get("Content-Type"), "text/plain");
    assert.ok(body.includes("busy: 486 Busy Here\r\n"));
    assert.ok(body.includes("noanswer: 180 and no final (487 on CANCEL, 408 on timeout)\r\n"));
    assert.ok(body.includes("auth: 401 until digest user auth, password auth; then as echo\r\n"));
    assert.equal(
      peer({ defaultRules: false }).receive(request("OPTIONS", { extra: ["Accept: */*"] }), UDP, 0)[0]
        .message.body.length,
      0,
    );
  });

  test("SipPeer processes Max-Forwards: 0 normally at a UAS (RFC 4475 zeromf)", () => {
    const bytes = decoder.decode(request("OPTIONS")).replace("Max-Forwards: 70", "Max-Forwards: 0");
    assert.deepEqual(statuses(peer().receive(encoder.encode(bytes), UDP, 0)), [200]);
  });

  test("SipPeer answers MESSAGE 200, SUBSCRIBE 489, PUBLISH 405 with Allow, unknown methods 501", () => {
    const p = peer();
    assert.deepEqual(statuses(p.receive(request("MESSAGE", { body: "hi", contentType: "text/plain" }), UDP, 0)), [200]);
    assert.deepEqual(statuses(p.receive(request("SUBSCRIBE", { extra: ["Event: presence"] }), UDP, 0)), [489]);
    const publish = p.receive(request("PUBLISH"), UDP, 0)[0].message;
    assert.equal(publish.status, 405);
    assert.equal(publish.headers.get("Allow")?.startsWith("INVITE, ACK, CANCEL"), true);
    assert.deepEqual(statuses(p.receive(request("FOO"), UDP, 0)), [501]);
  });

  test("SipPeer answers 481 to BYE, INFO, UPDATE, PRACK and NOTIFY outside a dialog", () => {
    const p = peer();
    for (const method of ["BYE", "INFO", "UPDATE", "PRACK", "NOTIFY"]) {
      assert.deepEqual(statuses(p.receive(request(method), UDP, 0)), [481], method);
      assert.deepEqual(statuses(p.receive(request(method, { toTag: "nope", branch: "z9hG4bK-t" + method }), UDP, 0)), [
        481,
      ]);
    }
  });

  test("SipPeer answers a retransmitted request with the same response without running the rules again", () => {
    const rules = parseRules(`[{ "match": { "method": "MESSAGE" }, "choose": [
      { "weight": 1, "respond": { "status": 202 } }, { "weight": 1, "respond": { "status": 486 } } ] }]`);
    const p = peer({ rules });
    const first = p.receive(request("MESSAGE"), UDP, 0);
    for (let i = 1; i < 10; i++) {
      const again = p.receive(request("MESSAGE"), UDP, i * 100);
      assert.deepEqual(again.map((o) => o.data), first.map((o) => o.data));
    }
    // Timer J ends the transaction after 64*T1 on UDP; then it is a new request.
    assert.equal(p.transactions.length, 1);
    runUntil(p, 32000);
    assert.equal(p.transactions.length, 0);
  });

  test("SipPeer drops responses and reports them", () => {
    const events: PeerEvent[] = [];
    const p = peer({}, events);
    const response = sip([
      "SIP/2.0 200 OK",
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1",
      "From: <sip:a@h>;tag=1",
      "To: <sip:b@h>;tag=2",
      "Call-ID: c",
      "CSeq: 1 OPTIONS",
      "Content-Length: 0",
    ]);
    assert.deepEqual(p.receive(encoder.encode(response), UDP, 0), []);
    assert.deepEqual(events.map((e) => [e.kind, e.message]), [[
      "dropped",
      "a 200 response that answers no request of ours",
    ]]);
  });

  test("SipPeer takes a parsed message as well as bytes", () => {
    const message = parseMessage(request("OPTIONS"));
    assert.deepEqual(statuses(peer().receive(message, UDP, 0)), [200]);
  });
});

describe("SipPeer INVITE (default behaviour)", () => {
  test("SipPeer answers INVITE with 180 and 200 with Contact and an SDP answer, one stable To tag", () => {
    const p = peer();
    const out = p.receive(request("INVITE", { body: OFFER }), UDP, 0);
    assert.deepEqual(statuses(out), [180, 200]);
    const [ringing, ok] = out.map((o) => o.message);
    assert.match(ringing.to.tag ?? "", /^[0-9a-f]{8}$/);
    assert.equal(ok.to.tag, ringing.to.tag);
    assert.equal(ok.headers.get("Contact"), "<sip:echo@192.0.2.1:5060>");
    assert.equal(ok.headers.get("Content-Type"), "application/sdp");
    assert.match(
      ok.bodyText,
      /^v=0\r\no=- \d+ 1 IN IP4 192\.0\.2\.1\r\ns=-\r\nc=IN IP4 192\.0\.2\.1\r\nt=0 0\r\nm=audio 4000 RTP\/AVP 0 101\r\na=rtpmap:101 telephone-event\/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n$/,
    );
    assert.equal(ok.headers.get("Content-Length"), String(encoder.encode(ok.bodyText).length));
    assert.equal(p.dialogs.length, 1);
    assert.equal(p.dialogs[0].localTag, ok.to.tag);
    assert.equal(p.dialogs[0].acked, false);
  });

  test("SipPeer resends the 2xx from T1 doubling to T2 until the ACK, and a retransmitted INVITE gets the same 2xx", () => {
    const p = peer();
    const ok = p.receive(request("INVITE", { body: OFFER }), UDP, 0)[1];
    assert.equal(p.nextTimer(), 500);
    const resent = runUntil(p, 3500);
    assert.deepEqual(resent.map((o) => [o.at, o.message.status]), [[500, 200], [1500, 200], [3500, 200]]);
    assert.ok(resent.every((o) => o.data === ok.data));
    // A retransmitted INVITE: the same 2xx, same To tag (bytes identical).
    const again = p.receive(request("INVITE", { body: OFFER }), UDP, 3600);
    assert.deepEqual(again.map((o) => o.data), [ok.data]);
    // The ACK (a new branch) stops the retransmissions.
    const tag = ok.message.to.tag;
    assert.deepEqual(p.receive(request("ACK", { branch: "z9hG4bK-ack", toTag: tag }), UDP, 4000), []);
    assert.equal(p.dialogs[0].acked, true);
    assert.deepEqual(runUntil(p, 60000), []);
    // Timer L ended the transaction; the dialog stays.
    assert.equal(p.transactions.length, 0);
    assert.equal(p.dialogs.length, 1);
  });

  test("SipPeer resends the 2xx over TCP too (RFC 3261 §13.3.1.4)", () => {
    const p = peer();
    p.receive(request("INVITE", { body: OFFER }), TCP, 0);
    assert.deepEqual(runUntil(p, 1500).map((o) => [o.at, o.message.status, o.remote.transport]), [
      [500, 200, "tcp"],
      [1500, 200, "tcp"],
    ]);
  });

  test("SipPeer drops the dialog when the 2xx is never acknowledged (64*T1)", () => {
    const events: PeerEvent[] = [];
    const p = peer({ timers: { T1: 100 } }, events);
    p.receive(request("INVITE", { body: OFFER }), UDP, 0);
    const resent = runUntil(p, 6400);
    assert.deepEqual(resent.map((o) => o.at), [100, 300, 700, 1500, 3100, 6300]);
    assert.equal(p.dialogs.length, 0);
    assert.equal(p.transactions.length, 0);
    assert.deepEqual(events.filter((e) => e.kind === "timeout").map((e) => [e.at, e.message]), [
      [6400, "INVITE call-1@example.com: no ACK for the 2xx (Timer L); dialog dropped"],
    ]);
  });

  test("SipPeer ends a dialog with BYE: 200, then 481 to a BYE in the ended dialog", () => {
    const p = peer();
    const tag = p.receive(request("INVITE", { body: OFFER }), UDP, 0)[1].message.to.tag;
    p.receive(request("ACK", { branch: "z9hG4bK-ack", toTag: tag }), UDP, 10);
    const bye = p.receive(request("BYE", { toTag: tag, cseq: 2 }), UDP, 20);
    assert.deepEqual(statuses(bye), [200]);
    assert.equal(bye[0].message.to.tag, tag);
    assert.equal(p.dialogs.length, 0);
    assert.deepEqual(statuses(p.receive(request("BYE", { toTag: tag, cseq: 3, branch: "z9hG4bK-bye2" }), UDP, 30)), [
      481,
    ]);
  });

  test("SipPeer answers a re-INVITE with 200 and a new SDP version; an in-dialog request out of order gets 500", () => {
    const p = peer();
    const tag = p.receive(request("INVITE", { body: OFFER, cseq: 5 }), UDP, 0)[1].message.to.tag;
    p.receive(request("ACK", { branch: "z9hG4bK-ack", toTag: tag, cseq: 5 }), UDP, 10);
    const reinvite = p.receive(request("INVITE", { body: OFFER, toTag: tag, cseq: 6, branch: "z9hG4bK-re" }), UDP, 20);
    assert.deepEqual(statuses(reinvite), [200]);
    assert.equal(reinvite[0].message.to.tag, tag);
    assert.match(reinvite[0].message.bodyText, /^v=0\r\no=- \d+ 2 IN IP4 192\.0\.2\.1\r\n/);
    const old = p.receive(request("INFO", { toTag: tag, cseq: 4, branch: "z9hG4bK-old" }), UDP, 30);
    assert.deepEqual(statuses(old), [500]);
    assert.deepEqual(statuses(p.receive(request("INFO", { toTag: tag, cseq: 7, branch: "z9hG4bK-new" }), UDP, 40)), [
      200,
    ]);
  });

  test("SipPeer offers SDP in the 2xx to an INVITE without one and checks the answer in the ACK", () => {
    const events: PeerEvent[] = [];
    const p = peer({}, events);
    const ok = p.receive(request("INVITE"), UDP, 0)[1].message;
    const offer = parseSdp(ok.bodyText);
    assert.equal(offer.media[0].port, 4000);
    const tag = ok.to.tag;
    const answer =
      "v=0\r\no=alice 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\n";
    p.receive(request("ACK", { branch: "z9hG4bK-ack", toTag: tag, body: answer }), UDP, 10);
    assert.equal(p.dialogs[0].answerProblem, null);
    assert.deepEqual(events.filter((e) => e.kind === "answer").map((e) => e.message), [
      "ACK call-1@example.com: SDP answer accepted",
    ]);
    // A second call whose ACK brings no answer.
    const ok2 = p.receive(request("INVITE", { callId: "call-2", branch: "z9hG4bK-2" }), UDP, 20)[1].message;
    p.receive(request("ACK", { callId: "call-2", branch: "z9hG4bK-ack2", toTag: ok2.to.tag }), UDP, 30);
    assert.equal(p.dialogs[1].answerProblem, "the ACK has no SDP answer");
  });

  test("SipPeer answers 488 when no codec is common and 400 naming the problem for bad SDP", () => {
    const p = peer();
    const video = OFFER.replace("m=audio 49170 RTP/AVP 0 101", "m=audio 49170 RTP/AVP 18").replace(/a=.*\r\n/g, "");
    const rejected = p.receive(request("INVITE", { body: video }), UDP, 0);
    assert.deepEqual(statuses(rejected), [488]);
    assert.equal(rejected[0].message.reason, "Not Acceptable Here: no common codec in any m-line");
    const bad = p.receive(request("INVITE", { body: "v=0\r\nbogus\r\n", branch: "z9hG4bK-bad", callId: "c2" }), UDP, 0);
    assert.deepEqual(statuses(bad), [400]);
    assert.match(bad[0].message.reason, /^Bad Request: Cannot parse SDP/);
  });

  test("SipPeer refuses unsupported Require (420), Content-Encoding (415), body type (415) and Accept (406)", () => {
    const p = peer();
    const ext = p.receive(request("INVITE", { extra: ["Require: 100rel, path, foo, bar"] }), UDP, 0)[0].message;
    assert.equal(ext.status, 420);
    assert.equal(ext.headers.get("Unsupported"), "foo, bar");
    const gz = p.receive(
      request("INVITE", { body: OFFER, extra: ["Content-Encoding: gzip"], branch: "z9hG4bK-gz" }),
      UDP,
      0,
    );
    assert.deepEqual([gz[0].message.status, gz[0].message.headers.get("Accept-Encoding")], [415, "identity"]);
    const type = p.receive(
      request("INVITE", { body: "<x/>", contentType: "application/unknownformat", branch: "z9hG4bK-ct" }),
      UDP,
      0,
    );
    assert.deepEqual([type[0].message.status, type[0].message.headers.get("Accept")], [415, "application/sdp"]);
    const multipart = p.receive(
      request("INVITE", { body: OFFER, contentType: "multipart/mixed;boundary=x", branch: "z9hG4bK-mp" }),
      UDP,
      0,
    );
    assert.equal(multipart[0].message.status, 415);
    const accept = p.receive(
      request("INVITE", { body: OFFER, extra: ["Accept: text/nobodyKnowsThis"], branch: "z9hG4bK-ac" }),
      UDP,
      0,
    );
    assert.equal(accept[0].message.status, 406);
    assert.equal(accept[0].message.headers.get("Warning"), '399 192.0.2.1:5060 "only application/sdp bodies"');
    assert.equal(p.dialogs.length, 0);
  });
});

describe("SipPeer SDP answers to the same offer, call after call", () => {
  test("the second answer is what answerSdp() writes for it: the same but for its session id", () => {
    const p = peer();
    const bodies = ["call-1", "call-2", "call-3"].map((callId) =>
      p.receive(request("INVITE", { body: OFFER, callId, branch: `z9hG4bK-${callId}` }), UDP, 0).at(-1)!.message
        .bodyText
    );
    const ids = bodies.map((b) => parseSdp(b).origin.sessionId);
    assert.equal(new Set(ids).size, 3);
    for (const [i, body] of bodies.entries()) {
      const expected = answerSdp(parseSdp(OFFER), {
        address: "192.0.2.1",
        rtpPort: (index) => 4000 + 2 * index,
        sessionId: Number(ids[i]),
        sessionVersion: 1,
      });
      assert.ok(expected.ok);
      assert.equal(body, formatSdp(expected.answer));
    }
  });

  test("a port that changes from call to call is in each answer", () => {
    let next = 30000;
    const asked: string[] = [];
    const p = peer({
      rtpPort: (callId) => {
        asked.push(callId);
        return next;
      },
    });
    const port = (callId: string) => {
      const out = p.receive(request("INVITE", { body: OFFER, callId, branch: `z9hG4bK-${callId}` }), UDP, 0);
      return parseSdp(out.at(-1)!.message.bodyText).media[0].port;
    };
    assert.equal(port("call-1"), 30000);
    next = 30002;
    assert.equal(port("call-2"), 30002);
    assert.equal(port("call-3"), 30002);
    assert.deepEqual([...new Set(asked)], ["call-1", "call-2", "call-3"]);
  });

  test("a re-INVITE with the same offer gets the next session version", () => {
    const p = peer();
    const ok = p.receive(request("INVITE", { body: OFFER }), UDP, 0).at(-1)!.message;
    const tag = ok.to.tag!;
    p.receive(request("ACK", { toTag: tag }), UDP, 1);
    const again = p.receive(request("INVITE", { body: OFFER, toTag: tag, cseq: 2, branch: "z9hG4bK-re" }), UDP, 2);
    const first = parseSdp(ok.bodyText).origin;
    const second = parseSdp(again.at(-1)!.message.bodyText).origin;
    assert.equal(second.sessionId, first.sessionId);
    assert.equal(Number(second.sessionVersion), Number(first.sessionVersion) + 1);
  });
});

describe("SipPeer test users", () => {
  test("busy gets 486, resent with Timer G until the ACK, then Timer I ends the transaction", () => {
    const p = peer();
    const out = p.receive(request("INVITE", { user: "busy", body: OFFER }), UDP, 0);
    assert.deepEqual(statuses(out), [486]);
    assert.deepEqual(runUntil(p, 1500).map((o) => [o.at, o.message.status]), [[500, 486], [1500, 486]]);
    // The ACK for a non-2xx has the INVITE's branch (RFC 3261 §17.1.1.3).
    assert.deepEqual(
      p.receive(request("ACK", { user: "busy", branch: "z9hG4bK-INVITE", toTag: out[0].message.to.tag }), UDP, 2000),
      [],
    );
    assert.equal(p.transactions[0].state, "Confirmed");
    assert.equal(p.nextTimer(), 7000);
    assert.deepEqual(runUntil(p, 7000), []);
    assert.equal(p.transactions.length, 0);
  });

  test("busy over TCP is not resent, and Timer H ends it without an ACK", () => {
    const events: PeerEvent[] = [];
    const p = peer({}, events);
    p.receive(request("INVITE", { user: "busy" }), TCP, 0);
    assert.deepEqual(runUntil(p, 40000), []);
    assert.equal(p.transactions.length, 0);
    assert.deepEqual(events.filter((e) => e.kind === "timeout").map((e) => e.at), [32000]);
  });

  test("decline, notfound, unavailable and redirect answer by Request-URI user", () => {
    const p = peer();
    const answer = (user: string) =>
      p.receive(request("INVITE", { user, branch: "z9hG4bK-" + user }), UDP, 0)[0].message;
    assert.equal(answer("decline").status, 603);
    assert.equal(answer("notfound").status, 404);
    const unavailable = answer("unavailable");
    assert.deepEqual([unavailable.status, unavailable.headers.get("Retry-After")], [503, "30"]);
    const redirect = answer("redirect");
    assert.deepEqual([redirect.status, redirect.headers.get("Contact")], [302, "<sip:echo@192.0.2.1>"]);
    // Other methods to the test users get the built-in behaviour.
    assert.deepEqual(statuses(p.receive(request("OPTIONS", { user: "busy" }), UDP, 0)), [200]);
  });

  test("slow rings at once and answers 200 with SDP after 3 s", () => {
    const p = peer();
    assert.deepEqual(statuses(p.receive(request("INVITE", { user: "slow", body: OFFER }), UDP, 0)), [180]);
    assert.equal(p.nextTimer(), 3000);
    assert.deepEqual(p.tick(2999), []);
    const ok = p.tick(3000);
    assert.deepEqual(statuses(ok), [200]);
    assert.equal(ok[0].message.headers.get("Contact"), "<sip:slow@192.0.2.1:5060>");
    assert.equal(ok[0].message.headers.get("Content-Type"), "application/sdp");
    assert.equal(p.dialogs.length, 1);
  });

  test("noanswer rings until CANCEL: 200 to the CANCEL and 487 to the INVITE, same To tag (§9.2)", () => {
    const p = peer();
    const out = p.receive(request("INVITE", { user: "noanswer", body: OFFER }), UDP, 0);
    assert.deepEqual(statuses(out), [180]);
    assert.equal(p.nextTimer(), 180000);
    // A retransmitted INVITE gets the 180 again.
    assert.deepEqual(statuses(p.receive(request("INVITE", { user: "noanswer", body: OFFER }), UDP, 400)), [180]);
    const cancel = p.receive(request("CANCEL", { user: "noanswer", branch: "z9hG4bK-INVITE" }), UDP, 1000);
    assert.deepEqual(statuses(cancel), [200, 487]);
    assert.equal(cancel[0].message.headers.get("CSeq"), "1 CANCEL");
    assert.equal(cancel[1].message.headers.get("CSeq"), "1 INVITE");
    assert.equal(cancel[0].message.to.tag, out[0].message.to.tag);
    assert.equal(cancel[1].message.to.tag, out[0].message.to.tag);
    // A CANCEL after the final: 200, nothing more.
    assert.deepEqual(
      statuses(p.receive(request("CANCEL", { user: "noanswer", branch: "z9hG4bK-INVITE" }), UDP, 1100)),
      [200],
    );
  });

  test("noanswer ends with 408 when Timer C fires", () => {
    const p = peer({ timers: { C: 10000 } });
    p.receive(request("INVITE", { user: "noanswer" }), UDP, 0);
    const out = runUntil(p, 10000);
    assert.deepEqual(out.map((o) => [o.at, o.message.status]), [[10000, 408]]);
  });

  test("CANCEL matching no transaction gets 481", () => {
    assert.deepEqual(statuses(peer().receive(request("CANCEL"), UDP, 0)), [481]);
  });

  test("defaultRules: false answers every user like echo", () => {
    assert.deepEqual(statuses(peer({ defaultRules: false }).receive(request("INVITE", { user: "busy" }), UDP, 0)), [
      180,
      200,
    ]);
  });
});

describe("SipPeer rules", () => {
  test("a rule answers with templates in headers and body, after its provisionals", () => {
    const rules = parseRules(JSON.stringify([{
      match: { method: "INVITE", user: "x*" },
      provisional: [{ status: 183, after: 100, headers: { "X-Early": "{{ruri_user}}" } }],
      respond: {
        status: 480,
        reason: "Gone Fishing",
        after: 250,
        headers: { "X-Who": "{{from_user}} {{source_address}}:{{source_port}} {{transport}} {{cseq}} {{branch}}" },
        body: { type: "text/plain", text: "{{method}} {{call_id}} {{to_user}} {{ruri_hostport}}" },
      },
    }]));
    const p = peer({ rules });
    assert.deepEqual(statuses(p.receive(request("INVITE", { user: "xy" }), UDP, 0)), []);
    const later = runUntil(p, 250);
    assert.deepEqual(later.map((o) => [o.at, o.message.status]), [[100, 183], [250, 480]]);
    assert.equal(later[0].message.headers.get("X-Early"), "xy");
    const final = later[1].message;
    assert.equal(final.reason, "Gone Fishing");
    assert.equal(final.headers.get("X-Who"), "alice 192.0.2.9:5070 udp 1 z9hG4bK-INVITE");
    assert.equal(final.bodyText, "INVITE call-1@example.com xy 192.0.2.1");
  });

  test("a rule's echo body sends the request body back with its Content-Type", () => {
    const rules = parseRules(`[{ "match": { "method": "MESSAGE" }, "respond": { "status": 200, "body": "echo" } }]`);
    const out = peer({ rules }).receive(
      request("MESSAGE", { body: "ping é", contentType: "text/plain;charset=utf-8" }),
      UDP,
      0,
    );
    assert.equal(out[0].message.bodyText, "ping é");
    assert.equal(out[0].message.headers.get("Content-Type"), "text/plain;charset=utf-8");
  });

  test("a rule's 2xx to INVITE gets our Contact and makes a dialog; retransmit: false sends it once", () => {
    const rules = parseRules(
      `[{ "match": { "user": "noack" }, "respond": { "status": 200, "body": "sdp" }, "retransmit": false }]`,
    );
    const p = peer({ rules });
    const out = p.receive(request("INVITE", { user: "noack", body: OFFER }), UDP, 0);
    assert.deepEqual(statuses(out), [200]);
    assert.equal(out[0].message.headers.get("Contact"), "<sip:noack@192.0.2.1:5060>");
    assert.equal(p.dialogs.length, 1);
    assert.deepEqual(runUntil(p, 40000), []);
  });

  test("duplicate: n sends every response n times", () => {
    const rules = parseRules(`[{ "match": { "user": "dup" }, "respond": { "status": 486 }, "duplicate": 3 }]`);
    const p = peer({ rules });
    assert.deepEqual(statuses(p.receive(request("INVITE", { user: "dup" }), UDP, 0)), [486, 486, 486]);
    assert.deepEqual(statuses(p.tick(500)), [486, 486, 486]);
  });

  test("silent sends nothing, absorbs retransmissions, and answers a CANCEL 200 without 487", () => {
    const rules = parseRules(`[{ "match": { "user": "blackhole" }, "silent": true }]`);
    const p = peer({ rules });
    assert.deepEqual(p.receive(request("INVITE", { user: "blackhole" }), UDP, 0), []);
    assert.deepEqual(p.receive(request("INVITE", { user: "blackhole" }), UDP, 500), []);
    assert.deepEqual(
      statuses(p.receive(request("CANCEL", { user: "blackhole", branch: "z9hG4bK-INVITE" }), UDP, 600)),
      [200],
    );
    runUntil(p, 40000);
    assert.equal(p.transactions.length, 0);
  });

  test("a choose rule is driven by the seed", () => {
    const rules = parseRules(`[{ "match": { "method": "OPTIONS" }, "choose": [
      { "weight": 1, "respond": { "status": 503 } }, { "weight": 1, "default": true } ] }]`);
    const run = (seed: number) => {
      const p = peer({ rules, seed });
      return Array.from(
        { length: 12 },
        (_, i) => p.receive(request("OPTIONS", { branch: `z9hG4bK-${i}` }), UDP, i)[0].message.status,
      );
    };
    assert.deepEqual(run(7), run(7));
    assert.ok(run(7).includes(503) && run(7).includes(200));
    assert.notDeepEqual(run(7), run(8));
  });

  test("user rules come before the test users", () => {
    const rules = parseRules(`[{ "match": { "user": "busy" }, "default": true }]`);
    // A default action still means the built-in behaviour, test users included.
    assert.deepEqual(statuses(peer({ rules }).receive(request("INVITE", { user: "busy" }), UDP, 0)), [486]);
    const override = parseRules(`[{ "match": { "user": "busy" }, "respond": { "status": 600 } }]`);
    assert.deepEqual(statuses(peer({ rules: override }).receive(request("INVITE", { user: "busy" }), UDP, 0)), [
      600,
    ]);
  });
});

describe("SipPeer tombstones: finished transactions until their last timer", () => {
  function call(p: SipPeer): string {
    const tag = p.receive(request("INVITE", { body: OFFER }), UDP, 0)[1].message.to.tag as string;
    p.receive(request("ACK", { branch: "z9hG4bK-ack", toTag: tag }), UDP, 10);
    return tag;
  }

  test("a BYE answered keeps a tombstone that resends the same 200 to a retransmission until Timer J", () => {
    const p = peer();
    const tag = call(p);
    const bye = p.receive(request("BYE", { toTag: tag, cseq: 2 }), UDP, 20);
    assert.deepEqual(p.transactions.map((t) => [t.invite, t.state]), [[true, "Accepted"], [false, "Completed"]]);
    const again = p.receive(request("BYE", { toTag: tag, cseq: 2 }), UDP, 5000);
    assert.deepEqual(again.map(text), bye.map(text));
    assert.equal(p.nextTimer(), 32000);
    assert.deepEqual(runUntil(p, 32000), []);
    assert.deepEqual(p.transactions.map((t) => t.state), ["Completed"]);
    runUntil(p, 32020);
    assert.equal(p.transactions.length, 0);
    // Now it is a new request, in no dialog.
    assert.deepEqual(statuses(p.receive(request("BYE", { toTag: tag, cseq: 2 }), UDP, 32030)), [481]);
  });

  test("a final with headers and a body is resent from its kept bytes", () => {
    const p = peer();
    const first = p.receive(request("OPTIONS", { extra: ["Accept: text/plain"] }), UDP, 0);
    assert.equal(p.transactions[0].state, "Completed");
    const again = p.receive(request("OPTIONS", { extra: ["Accept: text/plain"] }), UDP, 100);
    assert.deepEqual(again.map(text), first.map(text));
  });

  test("after the ACK for a 2xx, a retransmitted INVITE is absorbed until Timer L (RFC 6026 §7.1)", () => {
    const p = peer();
    call(p);
    assert.deepEqual(p.receive(request("INVITE", { body: OFFER }), UDP, 100), []);
    assert.equal(p.nextTimer(), 32000);
    runUntil(p, 32000);
    assert.equal(p.transactions.length, 0);
  });

  test("a CANCEL after the final gets 200 with the INVITE's To tag (RFC 3261 §9.2)", () => {
    const p = peer();
    const tag = call(p);
    const cancel = p.receive(request("CANCEL", { branch: "z9hG4bK-INVITE" }), UDP, 50);
    assert.deepEqual(statuses(cancel), [200]);
    assert.equal(cancel[0].message.to.tag, tag);
    // The same after a non-2xx and its ACK (Confirmed, Timer I).
    const busy = p.receive(request("INVITE", { user: "busy", callId: "c2", branch: "z9hG4bK-b" }), UDP, 60)[0];
    p.receive(request("ACK", { user: "busy", callId: "c2", branch: "z9hG4bK-b", toTag: busy.message.to.tag }), UDP, 70);
    assert.equal(p.transactions.find((t) => t.key.startsWith("z9hG4bK-b|"))?.state, "Confirmed");
    const late = p.receive(request("CANCEL", { user: "busy", callId: "c2", branch: "z9hG4bK-b" }), UDP, 80);
    assert.deepEqual([late[0].message.status, late[0].message.to.tag], [200, busy.message.to.tag]);
  });

  test("over TCP a finished transaction is forgotten at once (Timers I and J are 0)", () => {
    const p = peer();
    const tag = p.receive(request("INVITE", { body: OFFER }), TCP, 0)[1].message.to.tag;
    p.receive(request("ACK", { branch: "z9hG4bK-ack", toTag: tag }), TCP, 10);
    p.receive(request("BYE", { toTag: tag, cseq: 2 }), TCP, 20);
    // The INVITE waits for Timer L (RFC 6026: also on TCP); the BYE is gone.
    assert.deepEqual(p.transactions.map((t) => [t.invite, t.state]), [[true, "Accepted"]]);
  });

  test("outputs carry the stamped top Via's routing, and read their message back from their bytes", () => {
    const out = peer().receive(request("OPTIONS"), UDP, 0)[0];
    assert.deepEqual(out.via, { port: 5070, maddr: undefined, rport: 5070, received: "192.0.2.9" });
    assert.deepEqual(formatMessage(out.message), out.data);
    assert.equal(out.message, out.message);
  });
});

describe("SipPeer registrar, limits and errors", () => {
  test("REGISTER binds and the peer lists the bindings", () => {
    const p = peer();
    const out = p.receive(request("REGISTER", { extra: ["Expires: 300"] }), UDP, 0);
    assert.deepEqual(statuses(out), [200]);
    assert.equal(out[0].message.headers.get("Contact"), "<sip:alice@192.0.2.9:5070>;expires=300");
    assert.deepEqual(p.bindings().map((b) => [b.aor, b.uri]), [["sip:echo@192.0.2.1", "sip:alice@192.0.2.9:5070"]]);
    const brief =
      p.receive(request("REGISTER", { extra: ["Expires: 10"], cseq: 2, branch: "z9hG4bK-r2" }), UDP, 0)[0].message;
    assert.deepEqual([brief.status, brief.headers.get("Min-Expires")], [423, "60"]);
  });

  test("a full transaction table answers 503 with Retry-After", () => {
    const p = peer({ limits: { transactions: 1 }, retryAfter: 7 });
    p.receive(request("INVITE", { user: "noanswer" }), UDP, 0);
    const out = p.receive(request("OPTIONS"), UDP, 0);
    assert.deepEqual([out[0].message.status, out[0].message.headers.get("Retry-After")], [503, "7"]);
    assert.equal(p.transactions.length, 1);
  });

  test("a full dialog table answers INVITE with 503", () => {
    const p = peer({ limits: { dialogs: 1 } });
    p.receive(request("INVITE"), UDP, 0);
    const out = p.receive(request("INVITE", { callId: "c2", branch: "z9hG4bK-2" }), UDP, 0);
    assert.deepEqual(statuses(out), [503]);
    assert.equal(out[0].message.headers.get("Retry-After"), "5");
  });

  test("a malformed mandatory header gets 400 naming it; no Via means a drop", () => {
    const events: PeerEvent[] = [];
    const p = peer({}, events);
    const noCallId = decoder.decode(request("OPTIONS")).replace("Call-ID: call-1@example.com\r\n", "");
    const out = p.receive(encoder.encode(noCallId), UDP, 0);
    assert.deepEqual([out[0].message.status, out[0].message.reason], [400, "Cannot parse Call-ID: header is missing"]);
    assert.equal(
      out[0].message.headers.get("Via"),
      "SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bK-OPTIONS;rport=5070;received=192.0.2.9",
    );
    const noVia = decoder.decode(request("OPTIONS")).replace(/Via: [^\r]*\r\n/, "");
    assert.deepEqual(p.receive(encoder.encode(noVia), UDP, 0), []);
    assert.equal(events.at(-1)?.message, "dropped: Cannot parse Via: header is missing");
    const expires = p.receive(request("REGISTER", { extra: ["Expires: soon"] }), UDP, 0)[0].message;
    assert.deepEqual([expires.status, expires.reason], [
      400,
      'Cannot parse Expires: "soon" is not a number of seconds',
    ]);
  });

  test("a parse error on a stream needs Content-Length (TCP)", () => {
    const bytes = decoder.decode(request("OPTIONS")).replace("Content-Length: 0\r\n", "");
    const out = peer().receive(encoder.encode(bytes), TCP, 0);
    assert.deepEqual([out[0].message.status, out[0].message.reason], [
      400,
      "Cannot parse Content-Length: header is required on a stream transport",
    ]);
  });

  test("close() drops everything pending", () => {
    const p = peer();
    p.receive(request("INVITE", { user: "slow" }), UDP, 0);
    p.close();
    assert.equal(p.nextTimer(), undefined);
    assert.deepEqual(p.tick(5000), []);
    assert.deepEqual(p.receive(request("OPTIONS"), UDP, 0), []);
  });
});

describe("SipPeer torture messages (RFC 4475, RFC 5118)", () => {
  // The first final status the peer sends, or "drop"; every value is also checked against the
  // manifest below.
  const EXPECTED: Record<string, number | "drop"> = {
    wsinv: 481,
    intmeth: 501,
    esc01: 200,
    escnull: 200,
    esc02: 501,
    lwsdisp: 200,
    longreq: 200,
    dblreq: 200,
    semiuri: 200,
    transports: 200,
    mpart01: 200,
    unreason: "drop",
    noreason: "drop",
    badinv01: 400,
    clerr: 400,
    ncl: 400,
    scalar02: 400,
    scalarlg: "drop",
    quotbal: 400,
    ltgtruri: 400,
    lwsruri: 400,
    lwsstart: 400,
    trws: 400,
    escruri: 400,
    baddate: 400,
    regbadct: 400,
    badaspec: 400,
    baddn: 400,
    badvers: 505,
    mismatch01: 400,
    mismatch02: 400,
    bigcode: "drop",
    badbranch: 400,
    insuf: 400,
    unkscm: 416,
    novelsc: 416,
    unksm2: 400,
    bext01: 420,
    invut: 415,
    regaut01: 200,
    multi01: 400,
    mcl01: 400,
    bcast: "drop",
    zeromf: 200,
    cparam01: 200,
    cparam02: 200,
    regescrt: 200,
    sdp01: 406,
    inv2543: 200,
    "ipv6-good": 200,
    "ipv6-bad": 400,
    "port-ambiguous": 200,
    "port-unambiguous": 200,
    "via-received-param-with-delim": 481,
    "via-received-param-no-delim": 200,
    "ipv6-in-sdp": 488,
    "mult-ip-in-header": 481,
    "mult-ip-in-sdp": 200,
    "ipv4-mapped-ipv6": 488,
    "ipv6-bug-abnf-3-colons": 200,
    "ipv6-correct-abnf-2-colons": 200,
  };
  const cases = [...torture("rfc4475"), ...torture("rfc5118")];

  test("SipPeer answers all 61 torture messages as the manifests say", () => {
    assert.equal(cases.length, 61);
    for (const c of cases) {
      const out = peer().receive(c.bytes, UDP, 0);
      const final = out.find((o) => o.message.status >= 200);
      const got = final === undefined ? "drop" : final.message.status;
      assert.equal(got, EXPECTED[c.name], c.name);
      // Every output is the formatted response (Vias are copied as received, even malformed ones).
      for (const o of out) assert.ok(text(o).startsWith(`SIP/2.0 ${o.message.status} `), c.name);
      const uas = c.by_role?.uas;
      if (typeof uas === "number") {
        assert.equal(got, uas, c.name);
      } else if (typeof uas === "string") {
        // "discard it" (bcast), or "process it as if ..." (zeromf).
        if (uas.startsWith("discard")) assert.equal(got, "drop", c.name);
        else assert.notEqual(got, "drop", `${c.name}: ${uas}`);
      } else if (c.status !== null) {
        assert.ok(got === c.status || c.also_ok.includes(got as number), `${c.name}: ${got} vs ${c.status}`);
      } else if (decoder.decode(c.bytes.subarray(0, 4)) === "SIP/") {
        assert.equal(got, "drop", c.name);
      } else if (c.verdict === "invalid") {
        assert.ok(got === "drop" || got >= 400, c.name);
      } else {
        assert.notEqual(got, "drop", c.name);
      }
    }
  });
});

describe("SipPeer RTP ports (rtpPort, rtpRelease) and its own BYE", () => {
  /** A peer whose rtpPort hands out `pairs` even ports from 20000, and records every release. */
  function mediaPeer(pairs: number, options: PeerOptions = {}) {
    const held = new Map<string, number[]>();
    const released: string[] = [];
    const free: number[] = Array.from({ length: pairs }, (_, i) => 20000 + 2 * i);
    const p = peer({
      ...options,
      rtpPort: (callId, index) => {
        const ports = held.get(callId) ?? [];
        if (ports[index] !== undefined) return ports[index];
        const port = free.shift();
        if (port === undefined) return undefined;
        ports[index] = port;
        held.set(callId, ports);
        return port;
      },
      rtpRelease: (callId, reason) => {
        released.push(`${callId} ${reason}`);
        for (const port of held.get(callId) ?? []) free.push(port);
        held.delete(callId);
      },
    });
    return { p, released };
  }

  const TWO_STREAMS = OFFER + "m=audio 49172 RTP/AVP 8\r\n";

  test("the SDP answer names the ports of rtpPort; a re-INVITE gets the same ones; BYE releases them once", () => {
    const { p, released } = mediaPeer(4);
    const ok = p.receive(request("INVITE", { body: TWO_STREAMS }), UDP, 0)[1].message;
    assert.deepEqual(parseSdp(ok.bodyText).media.map((m) => m.port), [20000, 20002]);
    p.receive(request("ACK", { branch: "z9hG4bK-ack", toTag: ok.to.tag }), UDP, 10);
    const re = p.receive(
      request("INVITE", { body: TWO_STREAMS, toTag: ok.to.tag, cseq: 2, branch: "z9hG4bK-re" }),
      UDP,
      20,
    );
    assert.deepEqual(parseSdp(re[0].message.bodyText).media.map((m) => m.port), [20000, 20002]);
    p.receive(request("ACK", { branch: "z9hG4bK-ack2", toTag: ok.to.tag, cseq: 2 }), UDP, 30);
    assert.deepEqual(released, []);
    p.receive(request("BYE", { toTag: ok.to.tag, cseq: 3 }), UDP, 40);
    assert.deepEqual(released, ["call-1@example.com bye"]);
  });

  test("no free port: 503 with Retry-After (RFC 3261 §21.5.4), and a stream already given is released", () => {
    const { p, released } = mediaPeer(1, { retryAfter: 7 });
    const out = p.receive(request("INVITE", { body: TWO_STREAMS }), UDP, 0);
    assert.deepEqual(statuses(out), [503]);
    assert.equal(out[0].message.reason, "Service Unavailable: no RTP port free");
    assert.equal(out[0].message.headers.get("Retry-After"), "7");
    assert.deepEqual(released, ["call-1@example.com rejected"]);
    assert.equal(p.dialogs.length, 0);
    // The port is back: a call with one stream gets it.
    const ok = p.receive(request("INVITE", { body: OFFER, callId: "c2", branch: "z9hG4bK-2" }), UDP, 10);
    assert.deepEqual(statuses(ok), [180, 200]);
    assert.equal(parseSdp(ok[1].message.bodyText).media[0].port, 20000);
  });

  test("an INVITE without SDP gets our offer on a port of rtpPort, or 503", () => {
    const { p } = mediaPeer(1);
    const ok = p.receive(request("INVITE"), UDP, 0);
    assert.equal(parseSdp(ok[1].message.bodyText).media[0].port, 20000);
    assert.deepEqual(statuses(p.receive(request("INVITE", { callId: "c2", branch: "z9hG4bK-2" }), UDP, 1)), [503]);
  });

  test("CANCEL, Timer C, a rejecting rule and an unacknowledged 2xx release the ports, each with its reason", () => {
    const rules = parseRules(
      '[{ "match": { "user": "early" }, "respond": { "status": 183, "body": "sdp" } },' +
        ' { "match": { "user": "late-no" }, "provisional": [{ "status": 183, "after": 0, "body": "sdp" }],' +
        '   "respond": { "status": 480, "after": 100 } }]',
    );
    const { p, released } = mediaPeer(8, { rules, timers: { T1: 100, C: 1000 } });
    p.receive(request("INVITE", { user: "slow", body: OFFER, callId: "slow", branch: "z9hG4bK-s" }), UDP, 0);
    p.receive(request("CANCEL", { user: "slow", callId: "slow", branch: "z9hG4bK-s" }), UDP, 50);
    p.receive(request("INVITE", { user: "early", body: OFFER, callId: "early", branch: "z9hG4bK-e" }), UDP, 0);
    p.receive(request("INVITE", { user: "late-no", body: OFFER, callId: "late-no", branch: "z9hG4bK-l" }), UDP, 0);
    p.receive(request("INVITE", { body: OFFER, callId: "no-ack", branch: "z9hG4bK-n" }), UDP, 0);
    runUntil(p, 7000);
    assert.deepEqual(released.sort(), ["early timeout", "late-no rejected", "no-ack no-ack", "slow cancelled"]);
  });

  test("two INVITEs of one Call-ID share its ports: released when the last one ends", () => {
    const { p, released } = mediaPeer(2);
    const a = p.receive(request("INVITE", { body: OFFER, fromTag: "x" }), UDP, 0)[1].message;
    const b = p.receive(request("INVITE", { body: OFFER, fromTag: "y", branch: "z9hG4bK-y" }), UDP, 0)[1].message;
    p.receive(request("ACK", { branch: "z9hG4bK-ax", toTag: a.to.tag, fromTag: "x" }), UDP, 1);
    p.receive(request("ACK", { branch: "z9hG4bK-ay", toTag: b.to.tag, fromTag: "y" }), UDP, 1);
    p.receive(request("BYE", { toTag: a.to.tag, fromTag: "x", cseq: 2, branch: "z9hG4bK-bx" }), UDP, 2);
    assert.deepEqual(released, []);
    p.receive(request("BYE", { toTag: b.to.tag, fromTag: "y", cseq: 2, branch: "z9hG4bK-by" }), UDP, 3);
    assert.deepEqual(released, ["call-1@example.com bye"]);
  });

  test("bye() builds the BYE from the dialog (RFC 3261 §12.2.1.1) and ends it; not before the ACK", () => {
    const events: PeerEvent[] = [];
    const released: string[] = [];
    const p = new SipPeer({
      address: "192.0.2.1",
      ports: { tcp: 5061 },
      seed: 1,
      rtpPort: () => 20000,
      rtpRelease: (callId, reason) => void released.push(`${callId} ${reason}`),
      onEvent: (e) => void events.push(e),
    });
    const rr = ["Record-Route: <sip:p2.example.com;lr>", "Record-Route: <sip:p1.example.com;lr;transport=tcp>"];
    const answers = p.receive(request("INVITE", { body: OFFER, extra: rr }), TCP, 0);
    const ok = answers[1].message;
    // RFC 3261 §12.1.1: the responses that make the dialog (180, 200) copy the Record-Route
    // fields in order.
    assert.deepEqual(answers.map((o) => o.message.headers.getAll("Record-Route")), [
      ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr;transport=tcp>"],
      ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr;transport=tcp>"],
    ]);
    assert.deepEqual(p.bye("call-1@example.com", 5), [], "no BYE before the ACK (§15)");
    p.receive(request("ACK", { branch: "z9hG4bK-ack", toTag: ok.to.tag }), TCP, 10);
    const [bye, ...more] = p.bye("call-1@example.com", 20);
    assert.deepEqual(more, []);
    assert.equal(bye.remote, TCP);
    assert.equal(bye.at, 20);
    const m = bye.message;
    assert.equal(m.method, "BYE");
    assert.equal(m.uri, "sip:alice@192.0.2.9:5070");
    assert.deepEqual(m.headers.getAll("Route"), ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr;transport=tcp>"]);
    assert.equal(m.headers.get("From"), `<sip:echo@192.0.2.1>;tag=${ok.to.tag}`);
    assert.equal(m.headers.get("To"), "<sip:alice@example.com>;tag=a1");
    assert.equal(m.callId, "call-1@example.com");
    assert.deepEqual(m.cseq, { seq: 1, method: "BYE" });
    assert.equal(m.via[0].transport, "TCP");
    assert.equal(m.via[0].host, "192.0.2.1");
    assert.equal(m.via[0].port, 5061);
    assert.equal(m.via[0].branch, bye.branch);
    assert.match(bye.branch, /^z9hG4bK/);
    assert.equal(m.maxForwards, 70);
    assert.equal(m.headers.get("Content-Length"), "0");
    assert.equal(p.dialogs.length, 0);
    assert.deepEqual(released, ["call-1@example.com bye"]);
    assert.deepEqual(events.filter((e) => e.kind === "bye").map((e) => e.message), [
      "BYE call-1@example.com: the peer ends the dialog",
    ]);
    // The caller's BYE crossing ours finds no dialog.
    assert.deepEqual(statuses(p.receive(request("BYE", { toTag: ok.to.tag, cseq: 2 }), TCP, 30)), [481]);
    assert.deepEqual(p.bye("call-1@example.com", 40), []);
  });

  test("bye() through a strict router: the route becomes the Request-URI, the remote target the last Route", () => {
    const p = peer();
    const extra = ["Record-Route: <sip:strict.example.com>, <sip:loose.example.com;lr>"];
    const ok = p.receive(request("INVITE", { body: OFFER, extra }), UDP, 0)[1].message;
    p.receive(request("ACK", { branch: "z9hG4bK-ack", toTag: ok.to.tag }), UDP, 10);
    const dialog = p.dialogs[0];
    const [bye] = p.bye(dialog, 20);
    assert.equal(bye.message.uri, "sip:strict.example.com");
    assert.deepEqual(bye.message.headers.getAll("Route"), ["<sip:loose.example.com;lr>", "<sip:alice@192.0.2.9:5070>"]);
    assert.equal(bye.message.via[0].rport, null);
    assert.equal(dialog.state, "Terminated");
  });
});

describe("SipPeer stateless (RFC 3261 §8.2.7)", () => {
  test("an INVITE gets its 200 with SDP alone, and nothing is kept: no transaction, dialog or timer", () => {
    const p = peer({ stateless: true });
    const out = p.receive(request("INVITE", { body: OFFER }), UDP, 0);
    assert.deepEqual(statuses(out), [200]);
    const ok = out[0].message;
    assert.equal(ok.headers.get("Contact"), "<sip:echo@192.0.2.1:5060>");
    assert.equal(parseSdp(ok.bodyText).media[0].port, 4000);
    assert.match(ok.to.tag ?? "", /^[0-9a-f]{8}$/);
    assert.equal(p.transactions.length, 0);
    assert.equal(p.dialogs.length, 0);
    assert.equal(p.nextTimer(), undefined);
  });

  test("a retransmitted INVITE is answered again with the same bytes; another call gets another tag", () => {
    const p = peer({ stateless: true });
    const first = p.receive(request("INVITE", { body: OFFER }), UDP, 0);
    const again = p.receive(request("INVITE", { body: OFFER }), UDP, 500);
    assert.equal(text(again[0]), text(first[0]));
    const other = p.receive(request("INVITE", { body: OFFER, callId: "call-2@example.com" }), UDP, 600);
    assert.notEqual(other[0].message.to.tag, first[0].message.to.tag);
    // Another peer (another seed) tags the same call apart.
    const elsewhere = peer({ stateless: true, seed: 2 }).receive(request("INVITE", { body: OFFER }), UDP, 0);
    assert.notEqual(elsewhere[0].message.to.tag, first[0].message.to.tag);
  });

  test("ACK and CANCEL are ignored; a BYE in the call is answered 200 without a dialog", () => {
    const p = peer({ stateless: true });
    const tag = p.receive(request("INVITE", { body: OFFER }), UDP, 0)[0].message.to.tag!;
    assert.deepEqual(p.receive(request("ACK", { toTag: tag }), UDP, 10), []);
    assert.deepEqual(p.receive(request("CANCEL"), UDP, 20), []);
    const bye = p.receive(request("BYE", { toTag: tag, cseq: 2 }), UDP, 30);
    assert.deepEqual(statuses(bye), [200]);
    assert.equal(bye[0].message.to.tag, tag);
    assert.deepEqual(runUntil(p, 60000), []);
  });

  test("the RFC checks still answer (420, 501); a BYE outside a dialog is 481", () => {
    const p = peer({ stateless: true });
    const out = p.receive(request("INVITE", { body: OFFER, extra: ["Require: 100rel"] }), UDP, 0);
    assert.deepEqual(statuses(out), [420]);
    assert.equal(out[0].message.headers.get("Unsupported"), "100rel");
    assert.deepEqual(statuses(p.receive(request("FROB"), UDP, 0)), [501]);
    assert.deepEqual(statuses(p.receive(request("BYE"), UDP, 0)), [481]);
  });

  test("rules and test users: the final at once, provisionals never; only-provisional and silent send nothing", () => {
    const rules = parseRules(JSON.stringify([
      { match: { user: "late" }, provisional: [{ status: 183, after: 100 }], respond: { status: 480, after: 250 } },
      { match: { user: "quiet" }, silent: true },
      { match: { user: "dup" }, respond: { status: 486 }, duplicate: 2 },
    ]));
    const p = peer({ stateless: true, rules });
    assert.deepEqual(statuses(p.receive(request("INVITE", { user: "late" }), UDP, 0)), [480]);
    assert.deepEqual(statuses(p.receive(request("INVITE", { user: "quiet" }), UDP, 0)), []);
    assert.deepEqual(statuses(p.receive(request("INVITE", { user: "dup" }), UDP, 0)), [486, 486]);
    assert.deepEqual(statuses(p.receive(request("INVITE", { user: "busy" }), UDP, 0)), [486]);
    assert.deepEqual(statuses(p.receive(request("INVITE", { user: "slow", body: OFFER }), UDP, 0)), [200]);
    assert.deepEqual(statuses(p.receive(request("INVITE", { user: "noanswer" }), UDP, 0)), []);
    assert.equal(p.nextTimer(), undefined);
  });

  test("a header read late that does not parse gets 400 naming it", () => {
    const out = peer({ stateless: true }).receive(request("REGISTER", { extra: ["Expires: soon"] }), UDP, 0);
    assert.deepEqual(statuses(out), [400]);
    assert.match(out[0].message.reason, /^Cannot parse Expires/);
  });

  test("the registrar keeps its bindings", () => {
    const p = peer({ stateless: true });
    const out = p.receive(request("REGISTER", { extra: ["Expires: 3600"] }), UDP, 0);
    assert.deepEqual(statuses(out), [200]);
    assert.equal(p.bindings().length, 1);
  });

  test("takes no rtpRelease", () => {
    assert.throws(
      () => new SipPeer({ stateless: true, rtpRelease: () => {} }),
      (e) => e instanceof TypeError && /stateless peer takes no rtpRelease/.test(e.message),
    );
  });
});
