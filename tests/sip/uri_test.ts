import { test } from "node:test";
import assert from "node:assert/strict";
import { formatUri, parseUri } from "../../mod.ts";
import { unescapeUri, UriError } from "../../src/sip/mod.ts";
import { _uriClasses, formatParams } from "../../src/sip/uri.ts";

test("parseUri() reads user, password, host, port, params and headers of a SIP URI", () => {
  assert.deepEqual(parseUri("sips:alice:pw%21@Example.COM:5061;transport=TLS;Lr?Subject=hi%20there&Priority=urgent"), {
    scheme: "sips",
    user: "alice",
    password: "pw!",
    host: "Example.COM",
    port: 5061,
    params: { transport: "TLS", lr: null },
    headers: { Subject: "hi there", Priority: "urgent" },
  });
});

test("parseUri() reads IPv4, IPv6 references and the RFC 5118 three-colon form", () => {
  assert.equal((parseUri("sip:192.0.2.1:5060") as { host: string }).host, "192.0.2.1");
  assert.deepEqual(parseUri("sip:[2001:db8::10]:5070"), {
    scheme: "sip",
    host: "[2001:db8::10]",
    port: 5070,
    params: {},
    headers: {},
  });
  assert.equal((parseUri("sip:user@[2001:db8:::192.0.2.1]") as { host: string }).host, "[2001:db8:::192.0.2.1]");
});

test("parseUri() reads tel URIs and keeps other schemes opaque", () => {
  assert.deepEqual(parseUri("tel:+1-201-555-0123;phone-context=example.com"), {
    scheme: "tel",
    number: "+1-201-555-0123",
    params: { "phone-context": "example.com" },
  });
  assert.deepEqual(parseUri("urn:service:sos"), { scheme: "urn", value: "service:sos" });
});

test("parseUri() unescapes once and keeps NUL", () => {
  const uri = parseUri("sip:%00%00@example.com;n%61me=v%61lue%25%34%31") as {
    user: string;
    params: Record<string, string>;
  };
  assert.equal(uri.user, "\0\0");
  assert.deepEqual(uri.params, { name: "value%41" });
});

test("parseUri() takes the userinfo up to the first @, with ; and ? inside it", () => {
  const uri = parseUri("sip:user;par=u%40example.net@example.com") as { user: string; host: string };
  assert.equal(uri.user, "user;par=u@example.net");
  assert.equal(uri.host, "example.com");
  assert.equal((parseUri("sip:a?b@example.com") as { user: string }).user, "a?b");
});

test("parseUri() rejects malformed URIs saying what was wrong", () => {
  const cases: [string, RegExp][] = [
    ["sip:2001:db8::10", /malformed port "db8::10"/],
    ["sip:user@", /has no host/],
    ["sip:user@host:99999", /malformed port "99999"/],
    ["sip:us er@host", /malformed user part/],
    ["sip:user@[2001:db8::1", /unterminated IPv6 reference/],
    ["sip:user@host;=x", /malformed parameter/],
    ["sip:user@host?noequals", /malformed header/],
    ["sip:%zz@host", /malformed user part/],
    ["nocolon", /has no scheme/],
    ["1abc:x", /not a valid URI scheme/],
    ["tel:abc-xyz", /malformed number/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseUri(text), (e: unknown) => e instanceof UriError && message.test(e.message), text);
  }
});

test("formatUri() writes back what parseUri() read, escaping where needed", () => {
  for (
    const text of [
      "sip:alice@example.com:5060;transport=tcp;lr",
      "sips:bob:secret@[2001:db8::1];maddr=239.255.255.1?Subject=hi%20there",
      "sip:%00@example.com",
      "tel:+1-201-555-0123;phone-context=example.com",
      "urn:service:sos",
    ]
  ) {
    assert.equal(formatUri(parseUri(text)), text);
  }
  assert.equal(
    formatUri({ scheme: "sip", user: "a b@c", host: "h", params: { x: "1;2" }, headers: {} }),
    "sip:a%20b%40c@h;x=1%3B2",
  );
});

test("unescapeUri() refuses a broken escape", () => {
  assert.throws(() => unescapeUri("a%2"), UriError);
  assert.equal(unescapeUri("%C3%A9t%C3%A9"), "été");
});

test("the character tables of parseUri() accept exactly what the RFC 3261 regular expressions accept", () => {
  // Every short string over the characters that matter (each printable ASCII character, %
  // escapes good and bad, edges of host names) is judged the same by the table and by the
  // reference regular expression of each class.
  const singles: string[] = [""];
  for (let c = 0x20; c < 0x7f; c++) singles.push(String.fromCharCode(c));
  singles.push("\u00e9", "%41", "%4", "%zz", "%", "%%41");
  const samples = new Set<string>(singles);
  for (const a of singles) for (const b of ["a", "-", ".", "%41", "1", ";", "["]) samples.add(a + b).add(b + a);
  for (const host of ["a.b", "a-b", "-a", "a-", "a.", ".a", "1.2.3.4", "a..b", "ex_ample.com", "a b"]) {
    samples.add(host);
  }
  let checked = 0;
  for (const [name, [reference, table]] of Object.entries(_uriClasses)) {
    for (const sample of samples) {
      assert.equal(table(sample), reference.test(sample), `${name} class disagrees on ${JSON.stringify(sample)}`);
      checked++;
    }
  }
  assert.ok(checked > 5 * 1000);
});

test("formatParams() escapes URI parameters (RFC 3261 §19.1.2) and quotes header parameters (§25.1)", () => {
  const params = { transport: "tcp", lr: null, x: "a b", pct: "50%", m: "[2001:db8::1]", c: "a:b", q: 'say "hi"\\' };
  assert.equal(formatParams(params), ";transport=tcp;lr;x=a%20b;pct=50%25;m=[2001:db8::1];c=a:b;q=say%20%22hi%22%5C");
  assert.equal(
    formatParams(params, "header"),
    ';transport=tcp;lr;x="a b";pct=50%;m=[2001:db8::1];c="a:b";q="say \\"hi\\"\\\\"',
  );
  assert.equal(formatParams({}), "");
  assert.equal(formatParams({ e: "" }, "header"), ';e=""');
  assert.equal(formatParams({ "a b": "1" }), ";a%20b=1");
});

test("formatParams() writes what the regular expressions of RFC 3261 §25.1 say, character by character", () => {
  // The references: paramchar for URI parameters, token / host / quoted-string for header ones.
  const PARAMCHAR = /^[A-Za-z0-9\-_.!~*'()[\]/:&+$]$/;
  const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
  const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)$/;
  const hex = (ch: string) =>
    [...new TextEncoder().encode(ch)].map((b) => "%" + b.toString(16).toUpperCase().padStart(2, "0")).join("");
  const uri = (v: string) => [...v].map((ch) => PARAMCHAR.test(ch) ? ch : hex(ch)).join("");
  const header = (v: string) => TOKEN.test(v) || HOST.test(v) ? v : `"${v.replace(/(["\\])/g, "\\$1")}"`;
  const values = ["", "[]", "[1]", "[:.]", "[g]", "x]", "[x", "\u00e9", "\u{1f600}"];
  for (let c = 0; c < 0x80; c++) values.push(String.fromCharCode(c), "a" + String.fromCharCode(c) + "b");
  for (const v of values) {
    assert.equal(formatParams({ p: v }), ";p=" + uri(v), `uri ${JSON.stringify(v)}`);
    assert.equal(formatParams({ p: v }, "header"), ";p=" + header(v), `header ${JSON.stringify(v)}`);
  }
});
