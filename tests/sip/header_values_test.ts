import { test } from "node:test";
import assert from "node:assert/strict";
import {
  HeaderError,
  parseCallId,
  parseContact,
  parseCSeq,
  parseDate,
  parseDeltaSeconds,
  parseMediaType,
  parseNameAddress,
  parseOptionTags,
  parseVia,
} from "../../src/sip/mod.ts";
import { parseBoundedInteger } from "../../src/sip/header_scalars.ts";

function throwsHeader(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => e instanceof HeaderError && e.message === message);
}

test("parseVia() allows LWS around slashes, colon and parameters", () => {
  const via = parseVia("SIP  /   2.0 /UDP    192.0.2.2 : 5062 ;  branch =  z9hG4bK1 ; rport = 5063");
  assert.equal(via.protocol, "SIP/2.0");
  assert.equal(via.transport, "UDP");
  assert.equal(via.host, "192.0.2.2");
  assert.equal(via.port, 5062);
  assert.equal(via.branch, "z9hG4bK1");
  assert.equal(via.rport, 5063);
});

test("parseVia() reads extension transports and received with or without brackets", () => {
  assert.equal(parseVia("SIP/2.0/ws df7jal23ls0d.invalid;branch=z9hG4bK1").transport, "WS");
  assert.equal(parseVia("SIP/2.0/UNKNOWN h").transport, "UNKNOWN");
  assert.equal(parseVia("SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255]").received, "[2001:db8::9:255]");
  assert.equal(parseVia("SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255").received, "2001:db8::9:255");
});

test("parseVia() rejects malformed values, naming the problem", () => {
  throwsHeader(() => parseVia("SIP/2.0/UDP 192.0.2.15;;"), "Cannot parse Via: empty parameter");
  throwsHeader(
    () => parseVia("SIP/2.0 host"),
    'Cannot parse Via: sent-protocol "SIP/2.0 host" is not name/version/transport',
  );
  throwsHeader(() => parseVia("SIP/2.0/UDP"), "Cannot parse Via: sent-by must follow the transport after whitespace");
  throwsHeader(() => parseVia("SIP/2.0/UDP h:99999"), "Cannot parse Via: malformed port");
  throwsHeader(() => parseVia("SIP/2.0/UDP h;rport=x"), 'Cannot parse Via: rport parameter "x" is not a port');
  throwsHeader(
    () => parseVia("SIP/2.0/UDP h;received=nohost"),
    'Cannot parse Via: received parameter "nohost" is not an IP address',
  );
  throwsHeader(() => parseVia("SIP/2.0/UDP h;ttl=256"), 'Cannot parse Via: ttl parameter "256" is not 0..255');
});

test("parseNameAddress() reads name-addr and addr-spec forms", () => {
  assert.deepEqual(parseNameAddress("caller<sip:caller@example.com>;tag=323", "From"), {
    displayName: "caller",
    uri: "sip:caller@example.com",
    parsedUri: { scheme: "sip", user: "caller", host: "example.com", params: {}, headers: {} },
    params: { tag: "323" },
    tag: "323",
  });
  const spec = parseNameAddress("sip:+1972@gw1.example.net;unknownparam", "Contact");
  assert.deepEqual(spec.params, { unknownparam: null });
  assert.deepEqual(parseNameAddress("<isbn:2983792873>", "To").parsedUri, { scheme: "isbn", value: "2983792873" });
  assert.equal(parseNameAddress('"\\"quoted\\" name" <sip:a@b>', "To").displayName, '"quoted" name');
});

test("parameter names are case-insensitive: the common ones and any other come out in lower case", () => {
  // RFC 3261 §7.3.1 (header parameters) and §19.1.4 (URI parameters).
  const to = parseNameAddress("<sip:b@h;Transport=TCP;LR;X-Mode=a>;TAG=7;Expires=30;Custom=X", "To");
  assert.deepEqual(to.params, { tag: "7", expires: "30", custom: "X" });
  assert.equal(to.tag, "7");
  assert.deepEqual(to.parsedUri, {
    scheme: "sip",
    user: "b",
    host: "h",
    params: { transport: "TCP", lr: null, "x-mode": "a" },
    headers: {},
  });
  const via = parseVia("SIP/2.0/UDP h;BRANCH=z9hG4bK1;RPort;Received=192.0.2.1;MAddr=h2;ttl=1;tags=no");
  assert.deepEqual(via.params, {
    branch: "z9hG4bK1",
    rport: null,
    received: "192.0.2.1",
    maddr: "h2",
    ttl: "1",
    tags: "no",
  });
  assert.equal(via.branch, "z9hG4bK1");
  // A name that only shares a length with a common one is kept as it is, lower-cased.
  assert.deepEqual(parseNameAddress("<sip:b@h>;tac=1;Q=0.5", "Contact").params, { tac: "1", q: "0.5" });
});

test("parseNameAddress() rejects what RFC 4475 §3.1.2 calls malformed", () => {
  throwsHeader(
    () => parseNameAddress('"Mr. J. User <sip:j.user@example.com>', "To"),
    "Cannot parse To: quoted string is not closed",
  );
  throwsHeader(
    () => parseNameAddress("Watson, Thomas <sip:t@example.org>", "To"),
    'Cannot parse To: display name "Watson, Thomas" must be quoted',
  );
  throwsHeader(
    () => parseNameAddress('"W" < sip:t@example.org >', "To"),
    "Cannot parse To: whitespace or nothing inside < sip:t@example.org >",
  );
  throwsHeader(
    () => parseNameAddress("sip:user@example.com?Route=%3Csip:x%3E", "Contact"),
    'Cannot parse Contact: URI "sip:user@example.com?Route=%3Csip:x%3E" holds "?" or "," and must be enclosed in <>',
  );
  throwsHeader(() => parseNameAddress("<sip:a@b>;tag", "From"), "Cannot parse From: tag parameter has no value");
  throwsHeader(() => parseNameAddress("<sip:a@b", "From"), "Cannot parse From: <URI> is not closed");
});

test("parseContact() reads expires (clamped to 2^32-1) and q", () => {
  const c = parseContact("<sip:a@b>;expires=280297596632815;q=1.000");
  assert.equal(c.expires, 2 ** 32 - 1);
  assert.equal(c.q, 1);
  throwsHeader(() => parseContact("<sip:a@b>;q=1.5"), 'Cannot parse Contact: q "1.5" is not 0..1');
  throwsHeader(() => parseContact("<sip:a@b>;expires=soon"), 'Cannot parse Contact: "soon" is not a number of seconds');
});

test("parseCSeq() and parseBoundedInteger() check their ranges", () => {
  assert.deepEqual(parseCSeq("  0  ACK "), { seq: 0, method: "ACK" });
  throwsHeader(() => parseCSeq("1INVITE"), "Cannot parse CSeq: method must follow the number after whitespace");
  throwsHeader(() => parseCSeq("1 INV ITE"), 'Cannot parse CSeq: method "INV ITE" is not a token');
  assert.equal(parseBoundedInteger("255", "Max-Forwards", 255), 255);
  throwsHeader(() => parseBoundedInteger("256", "Max-Forwards", 255), "Cannot parse Max-Forwards: 256 is over 255");
  throwsHeader(
    () => parseBoundedInteger("-1", "Content-Length", 10),
    'Cannot parse Content-Length: "-1" is not a number',
  );
  assert.equal(parseDeltaSeconds("1" + "0".repeat(100), "Expires"), 2 ** 32 - 1);
});

test("parseMediaType(), parseOptionTags(), parseCallId() and parseDate()", () => {
  assert.deepEqual(parseMediaType('multipart/mixed; boundary="x y"'), {
    mediaType: "multipart/mixed",
    params: { boundary: "x y" },
  });
  throwsHeader(() => parseMediaType("sdp"), 'Cannot parse Content-Type: "sdp" is not type/subtype');
  assert.deepEqual(parseOptionTags([""], "Supported"), []);
  throwsHeader(() => parseOptionTags(["a b"], "Require"), 'Cannot parse Require: option tag "a b" is not a token');
  assert.equal(parseCallId("word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"), "word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
  throwsHeader(() => parseCallId("two words"), 'Cannot parse Call-ID: "two words" is not word[@word]');
  throwsHeader(
    () => parseDate("Fri, 01 Jan 2010 16:00:00 EST"),
    'Cannot parse Date: "Fri, 01 Jan 2010 16:00:00 EST" is not an RFC 1123 date in GMT',
  );
});
