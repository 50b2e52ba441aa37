import { test } from "node:test";
import assert from "node:assert/strict";
import { canonicalHeaderName, isListHeader, splitHeaderList } from "../../src/sip/mod.ts";
import { SipHeaders } from "../../mod.ts";

test("canonicalHeaderName() expands every compact form (RFC 3261 §7.3.3 and extensions)", () => {
  const expected: Record<string, string> = {
    i: "Call-ID",
    m: "Contact",
    e: "Content-Encoding",
    l: "Content-Length",
    c: "Content-Type",
    f: "From",
    s: "Subject",
    k: "Supported",
    t: "To",
    v: "Via",
    o: "Event",
    u: "Allow-Events",
    r: "Refer-To",
    b: "Referred-By",
    x: "Session-Expires",
    y: "Identity",
    a: "Accept-Contact",
    j: "Reject-Contact",
    d: "Request-Disposition",
  };
  for (const [short, long] of Object.entries(expected)) {
    assert.equal(canonicalHeaderName(short), long);
    assert.equal(canonicalHeaderName(short.toUpperCase()), long);
  }
});

test("canonicalHeaderName() uses RFC casing for known names and keeps unknown ones", () => {
  assert.equal(canonicalHeaderName("CALL-id"), "Call-ID");
  assert.equal(canonicalHeaderName("cseq"), "CSeq");
  assert.equal(canonicalHeaderName("www-authenticate"), "WWW-Authenticate");
  assert.equal(canonicalHeaderName("X-Weird-Case"), "X-Weird-Case");
});

test("splitHeaderList() respects quoted strings, escapes and <>", () => {
  assert.deepEqual(splitHeaderList('"a,\\"b" <sip:x@y>, c'), ['"a,\\"b" <sip:x@y>', "c"]);
  assert.deepEqual(splitHeaderList("<sip:a@b;x=1>,<sip:c@d>"), ["<sip:a@b;x=1>", "<sip:c@d>"]);
  assert.deepEqual(splitHeaderList("a,,b"), ["a", "", "b"]);
  assert.deepEqual(splitHeaderList("single"), ["single"]);
});

test("isListHeader() knows which headers are comma lists", () => {
  for (const name of ["Via", "Contact", "Route", "Record-Route", "Allow", "Supported", "Require", "k", "m"]) {
    assert.equal(isListHeader(name), true, name);
  }
  for (
    const name of [
      "WWW-Authenticate",
      "Authorization",
      "Proxy-Authenticate",
      "Proxy-Authorization",
      "Date",
      "From",
      "X-Foo",
    ]
  ) {
    assert.equal(isListHeader(name), false, name);
  }
});

test("SipHeaders get/getAll/getFields look up any case and compact form", () => {
  const h = new SipHeaders([["v", "SIP/2.0/UDP a, SIP/2.0/UDP b"], ["Via", "SIP/2.0/TCP c"], ["x-a", "1,2"]]);
  assert.equal(h.get("VIA"), "SIP/2.0/UDP a, SIP/2.0/UDP b");
  assert.deepEqual(h.getFields("via"), ["SIP/2.0/UDP a, SIP/2.0/UDP b", "SIP/2.0/TCP c"]);
  assert.deepEqual(h.getAll("v"), ["SIP/2.0/UDP a", "SIP/2.0/UDP b", "SIP/2.0/TCP c"]);
  assert.deepEqual(h.getAll("X-A"), ["1,2"]);
  assert.equal(h.get("Missing"), undefined);
  assert.deepEqual(h.getAll("Missing"), []);
  assert.equal(h.has("x-A"), true);
  assert.equal(h.size, 3);
});

test("SipHeaders set() replaces in place, append() adds at the end, delete() removes all", () => {
  const h = new SipHeaders([["X-A", "1"], ["Via", "x"], ["X-B", "2"], ["v", "y"]]);
  const v0 = h.version;
  h.set("via", "z");
  assert.deepEqual([...h], [["X-A", "1"], ["Via", "z"], ["X-B", "2"]]);
  assert.ok(h.version > v0);
  h.append("i", "call");
  assert.deepEqual([...h].at(-1), ["Call-ID", "call"]);
  assert.equal(h.delete("x-a"), true);
  assert.equal(h.delete("x-a"), false);
  assert.deepEqual([...h].map(([n]) => n), ["Via", "X-B", "Call-ID"]);
  h.set("New", "1");
  assert.deepEqual([...h].at(-1), ["New", "1"]);
});

test("SipHeaders compare equal by content with deepStrictEqual", () => {
  assert.deepEqual(new SipHeaders([["To", "x"]]), new SipHeaders([["t", "x"]]));
  assert.notDeepEqual(new SipHeaders([["To", "x"]]), new SipHeaders([["To", "y"]]));
});
