import { test } from "node:test";
import assert from "node:assert/strict";
import { type NameAddress, parseContact, parseNameAddress } from "../../src/sip/mod.ts";
import { parseMessage, SipHeaders, SipRequest, SipResponse } from "../../mod.ts";

const OPTIONS = "OPTIONS sip:echo@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\r\n" +
  "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:echo@127.0.0.1>\r\nCall-ID: 1@a\r\nCSeq: 7 OPTIONS\r\n" +
  "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n";

test("SipMessage views the parser stored follow header changes", () => {
  const m = parseMessage(OPTIONS);
  assert.deepEqual([m.callId, m.cseq, m.maxForwards, m.contentLength], ["1@a", { seq: 7, method: "OPTIONS" }, 70, 0]);
  m.headers.set("Call-ID", "2@a");
  m.headers.delete("Max-Forwards");
  assert.equal(m.callId, "2@a");
  assert.equal(m.maxForwards, undefined);
  assert.deepEqual(m.cseq, { seq: 7, method: "OPTIONS" });
});

test("SipMessage views follow headers replaced by other headers at the same version", () => {
  const m = parseMessage(OPTIONS);
  assert.equal(m.callId, "1@a");
  assert.equal(m.from.tag, "1");
  // A new SipHeaders starts at the version the parsed one is still at.
  m.headers = new SipHeaders([["Call-ID", "3@b"], ["CSeq", "9 OPTIONS"], ["f", "<sip:b@h>;tag=2"]]);
  assert.equal(m.callId, "3@b");
  assert.deepEqual(m.cseq, { seq: 9, method: "OPTIONS" });
  assert.equal(m.from.tag, "2");
  assert.equal(m.contentLength, undefined);
});

test("SipRequest and SipResponse compute views on use and cache them", () => {
  const req = new SipRequest({ method: "BYE", uri: "sip:b@h", headers: [["CSeq", "3 BYE"], ["Call-ID", "c"]] });
  assert.equal(req.type, "request");
  assert.equal(req.cseq, req.cseq);
  assert.equal(req.callId, "c");
  const res = new SipResponse({ status: 200, reason: "OK", headers: [["To", "<sip:b@h>;tag=9"]] });
  assert.equal(res.type, "response");
  assert.equal(res.to, res.to);
  assert.equal(res.to.tag, "9");
  assert.deepEqual(Object.keys(req), ["version", "headers", "body", "type", "method", "uri"]);
  assert.deepEqual(Object.keys(res), ["version", "headers", "body", "type", "status", "reason"]);
});

const INVITE = "INVITE sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n" +
  'From: "A. Caller" <sip:a@192.0.2.9;transport=udp>;tag=f1\r\nTo: echo <sip:echo@192.0.2.1>\r\n' +
  "Call-ID: c1\r\nCSeq: 1 INVITE\r\nContact: <sip:a@192.0.2.9:5062>;expires=60;q=0.5\r\nContent-Length: 0\r\n\r\n";

test("the From, To and Contact of a parsed message read as parseNameAddress() and parseContact() give them", () => {
  const m = parseMessage(INVITE);
  const from = parseNameAddress('"A. Caller" <sip:a@192.0.2.9;transport=udp>;tag=f1', "From");
  const to = parseNameAddress("echo <sip:echo@192.0.2.1>", "To");
  const contact = parseContact("<sip:a@192.0.2.9:5062>;expires=60;q=0.5");
  // The same fields, URIs included, and the same JSON (`--parse` prints it), key order included.
  for (const [view, plain] of [[m.from, from], [m.to, to], [(m.contact as NameAddress[])[0], contact]] as const) {
    assert.deepEqual({ ...view, parsedUri: view.parsedUri }, { ...plain });
    assert.equal(JSON.stringify(view), JSON.stringify(plain));
  }
  assert.equal(m.from.tag, "f1");
  assert.equal(m.from.parsedUri, m.from.parsedUri); // parsed once, then kept
  const changed = { scheme: "sip" as const, user: "z", host: "h", params: {}, headers: {} };
  m.to.parsedUri = changed;
  assert.equal(m.to.parsedUri, changed);
});
