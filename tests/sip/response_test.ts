import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createResponse, ResponseHead, type ResponseOptions } from "../../src/sip/response.ts";
import { REASON_PHRASES, reasonPhrase } from "../../src/sip/reason_phrases.ts";
import { statelessHash, statelessTag } from "../../src/sip/stateless_tag.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import { formatMessage } from "../../src/sip/format.ts";
import { SipParseError } from "../../src/sip/errors.ts";
import type { SipRequest } from "../../src/sip/message.ts";
import { sip } from "../_data.ts";

const decoder = new TextDecoder();

function req(lines: string[], body = ""): SipRequest {
  const m = parseMessage(sip(lines, body));
  assert.equal(m.type, "request");
  return m as SipRequest;
}

const BASE = [
  "INVITE sip:echo@192.0.2.1 SIP/2.0",
  "Via: SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKa1",
  "Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp1, SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKu1",
  "Max-Forwards: 70",
  "From: Alice <sip:alice@example.com>;tag=f1",
  "To: <sip:echo@192.0.2.1>",
  "Call-ID: call-1@example.com",
  "CSeq: 7 INVITE",
  "Timestamp: 54.2",
];

/** The SipParseError of an INVITE without From, To and Call-ID, which holds the partial request. */
function partialError(): SipParseError & { partial: SipRequest } {
  let error: SipParseError | undefined;
  try {
    parseMessage(sip(["INVITE sip:a@b SIP/2.0", "CSeq: 1 INVITE", "Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKi"]));
  } catch (e) {
    if (e instanceof SipParseError) error = e;
  }
  assert.ok(error?.partial?.type === "request");
  return error as SipParseError & { partial: SipRequest };
}

describe("createResponse()", () => {
  test("createResponse() copies Vias in order, From, Call-ID, CSeq and adds the To tag (RFC 3261 §8.2.6)", () => {
    const r = createResponse(req(BASE), 486, undefined, { toTag: "t9" });
    assert.equal(
      decoder.decode(formatMessage(r)),
      "SIP/2.0 486 Busy Here\r\n" +
        "Via: SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKa1\r\n" +
        "Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp1\r\n" +
        "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKu1\r\n" +
        "From: Alice <sip:alice@example.com>;tag=f1\r\n" +
        "To: <sip:echo@192.0.2.1>;tag=t9\r\n" +
        "Call-ID: call-1@example.com\r\n" +
        "CSeq: 7 INVITE\r\n" +
        "Server: sipecho/0.1\r\n" +
        "Content-Length: 0\r\n\r\n",
    );
  });

  test("createResponse() adds no To tag to a 100 Trying and copies Timestamp into it (§8.2.6.1)", () => {
    const r = createResponse(req(BASE), 100, undefined, { toTag: "t9", server: null });
    assert.equal(r.headers.get("To"), "<sip:echo@192.0.2.1>");
    assert.equal(r.headers.get("Timestamp"), "54.2");
    assert.equal(r.headers.has("Server"), false);
    const ok = createResponse(req(BASE), 200, undefined, { toTag: "t9" });
    assert.equal(ok.headers.has("Timestamp"), false);
  });

  test("createResponse() keeps an existing To tag", () => {
    const lines = BASE.map((l) => (l.startsWith("To:") ? "To: <sip:echo@192.0.2.1>;tag=old" : l));
    const r = createResponse(req(lines), 200, undefined, { toTag: "new" });
    assert.equal(r.headers.get("To"), "<sip:echo@192.0.2.1>;tag=old");
  });

  test("createResponse() derives the same To tag for the same request when none is given (§8.2.7)", () => {
    const a = createResponse(req(BASE), 400).to.tag;
    const b = createResponse(req(BASE), 400).to.tag;
    const other = createResponse(req(BASE.map((l) => l.replace("CSeq: 7", "CSeq: 8"))), 400).to.tag;
    assert.match(a ?? "", /^s[0-9a-f]{8}$/);
    assert.equal(a, b);
    assert.notEqual(a, other);
  });

  test("createResponse() adds received when sent-by differs from the source (RFC 3261 §18.2.1)", () => {
    const r = createResponse(req(BASE), 200, undefined, {
      toTag: "t",
      source: { address: "198.51.100.1", port: 5070 },
    });
    assert.equal(r.headers.getAll("Via")[0], "SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKa1;received=198.51.100.1");
    assert.equal(r.headers.getAll("Via")[1], "SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp1");
    const same = createResponse(req(BASE), 200, undefined, {
      toTag: "t",
      source: { address: "192.0.2.9", port: 5070 },
    });
    assert.equal(same.headers.getAll("Via")[0], "SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKa1");
  });

  test("createResponse() fills rport and always adds received with it (RFC 3581 §4)", () => {
    const lines = [
      "OPTIONS sip:echo@h SIP/2.0",
      "Via: SIP/2.0/UDP 192.0.2.9:5060;rport;branch=z9hG4bKx",
      ...BASE.slice(4),
    ];
    lines[lines.length - 2] = "CSeq: 7 OPTIONS";
    const r = createResponse(req(lines), 200, "OK", { toTag: "t", source: { address: "192.0.2.9", port: 61000 } });
    assert.equal(r.headers.get("Via"), "SIP/2.0/UDP 192.0.2.9:5060;rport=61000;branch=z9hG4bKx;received=192.0.2.9");
  });

  test("createResponse() writes an IPv6 received without brackets and matches bracketed sent-by", () => {
    const lines = [
      "OPTIONS sip:echo@h SIP/2.0",
      "Via: SIP/2.0/UDP [2001:DB8::9]:5060;branch=z9hG4bKx",
      ...BASE.slice(4),
    ];
    lines[lines.length - 2] = "CSeq: 7 OPTIONS";
    const same = createResponse(req(lines), 200, "OK", { toTag: "t", source: { address: "2001:db8::9", port: 5060 } });
    assert.equal(same.headers.get("Via"), "SIP/2.0/UDP [2001:DB8::9]:5060;branch=z9hG4bKx");
    const other = createResponse(req(lines), 200, "OK", { toTag: "t", source: { address: "2001:db8::a", port: 5060 } });
    assert.equal(other.headers.get("Via"), "SIP/2.0/UDP [2001:DB8::9]:5060;branch=z9hG4bKx;received=2001:db8::a");
  });

  test("createResponse() replaces a stale received parameter", () => {
    const lines = [...BASE];
    lines[1] = "Via: SIP/2.0/UDP host.example.com;received=10.1.1.1;branch=z9hG4bKa1";
    const r = createResponse(req(lines), 180, undefined, { toTag: "t", source: { address: "192.0.2.5", port: 5060 } });
    assert.equal(r.headers.getAll("Via")[0], "SIP/2.0/UDP host.example.com;received=192.0.2.5;branch=z9hG4bKa1");
  });

  test("createResponse() writes headers, body, Content-Type and the right Content-Length", () => {
    const r = createResponse(req(BASE), 200, "Fine", {
      toTag: "t",
      headers: [["Contact", "<sip:echo@192.0.2.1>"], ["X-Test", "é"]],
      body: "héllo",
      contentType: "text/plain;charset=utf-8",
    });
    const text = decoder.decode(formatMessage(r));
    assert.ok(text.startsWith("SIP/2.0 200 Fine\r\n"));
    assert.ok(
      text.endsWith(
        "CSeq: 7 INVITE\r\nContact: <sip:echo@192.0.2.1>\r\nX-Test: é\r\nServer: sipecho/0.1\r\n" +
          "Content-Type: text/plain;charset=utf-8\r\nContent-Length: 6\r\n\r\nhéllo",
      ),
    );
    assert.equal(r.headers.get("Content-Length"), "6");
  });

  test("createResponse() lets a Server header in options replace the default one", () => {
    const r = createResponse(req(BASE), 200, undefined, { toTag: "t", headers: [["Server", "x/1"]] });
    assert.deepEqual(r.headers.getAll("Server"), ["x/1"]);
  });

  test("createResponse() refuses a body without a type and a status out of range", () => {
    assert.throws(() => createResponse(req(BASE), 200, undefined, { body: "x" }), TypeError);
    assert.throws(() => createResponse(req(BASE), 700), RangeError);
    assert.throws(() => createResponse(req(BASE), 99), RangeError);
  });

  test("createResponse() is what ResponseHead.format() writes: one Content-Length, the body's", () => {
    const request = req(BASE);
    const options: ResponseOptions = {
      toTag: "t",
      headers: [["Content-Length", "99"]],
      body: "ab",
      contentType: "a/b",
    };
    const r = createResponse(request, 200, undefined, options);
    assert.deepEqual(r.headers.getAll("Content-Length"), ["2"]);
    assert.equal(r.bodyText, "ab");
    assert.deepEqual(formatMessage(r), new ResponseHead(request).format(200, undefined, options));
  });

  test("createResponse() keeps a reason phrase on one line", () => {
    assert.equal(createResponse(req(BASE), 400, "a\r\nb").reason, "a b");
  });

  test("createResponse() answers the partial message of a parse error, leaving out what is missing", () => {
    const error = partialError();
    const r = createResponse(error.partial, 400, error.message, { toTag: "t" });
    assert.equal(
      decoder.decode(formatMessage(r)),
      "SIP/2.0 400 Cannot parse From: header is missing\r\nVia: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKi\r\n" +
        "CSeq: 1 INVITE\r\nServer: sipecho/0.1\r\nContent-Length: 0\r\n\r\n",
    );
  });
});

describe("ResponseHead", () => {
  const SOURCE = { address: "198.51.100.7", port: 40000 };
  const cases: [string, SipRequest, number, string | undefined, ResponseOptions][] = [
    ["a tagged 486", req(BASE), 486, undefined, { toTag: "t9" }],
    ["a 100 with Timestamp and no tag", req(BASE), 100, undefined, { toTag: "t9", source: SOURCE }],
    [
      "a 200 with rport stamped",
      req([
        "OPTIONS sip:e@h SIP/2.0",
        "Via: SIP/2.0/UDP 10.0.0.2;rport;branch=z9hG4bK1",
        "From: <sip:a@x>;tag=1",
        "To: <sip:e@h>",
        "Call-ID: c",
        "CSeq: 1 OPTIONS",
      ]),
      200,
      undefined,
      { source: SOURCE },
    ],
    ["a stateless tag", req(BASE), 404, undefined, { source: SOURCE }],
    ["a To that has a tag", req(BASE.map((l) => l.startsWith("To:") ? l + ";tag=x" : l)), 200, undefined, {
      toTag: "y",
    }],
    ["a reason on two lines and headers", req(BASE), 503, "Busy\r\nnow", {
      toTag: "t",
      headers: [["retry-after", "5"], ["X-A", "1"], ["Server", "mine"]],
      source: SOURCE,
    }],
    ["an ASCII text body", req(BASE), 200, undefined, { toTag: "t", body: "v=0\r\n", contentType: "application/sdp" }],
    ["a UTF-8 text body", req(BASE), 200, undefined, { toTag: "t", body: "héllo ☎", contentType: "text/plain" }],
    ["a byte body", req(BASE), 200, undefined, {
      toTag: "t",
      body: new Uint8Array([0, 1, 2, 255]),
      contentType: "application/octet-stream",
      server: null,
    }],
    ["a Content-Length among the headers", req(BASE), 200, undefined, {
      toTag: "t",
      headers: [["Content-Length", "99"], ["X-After", "1"]],
      body: "ab",
      contentType: "text/plain",
    }],
  ];
  for (const [name, request, status, reason, options] of cases) {
    test(`ResponseHead.format() writes what formatMessage(createResponse()) writes: ${name}`, () => {
      const { source, ...rest } = options;
      const bytes = new ResponseHead(request, source).format(status, reason, rest);
      assert.equal(
        decoder.decode(bytes),
        decoder.decode(formatMessage(createResponse(request, status, reason, options))),
      );
    });
  }

  test("ResponseHead reads the partial message of a parse error", () => {
    const error = partialError();
    const head = new ResponseHead(error.partial, { address: "192.0.2.95", port: 5060 });
    assert.equal(
      decoder.decode(head.format(400, "Bad", { toTag: "t" })),
      "SIP/2.0 400 Bad\r\nVia: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKi\r\nCSeq: 1 INVITE\r\nServer: sipecho/0.1\r\n" +
        "Content-Length: 0\r\n\r\n",
    );
  });

  test("ResponseHead.route gives the stamped top Via's routing parameters (RFC 3261 §18.2.2, RFC 3581 §4)", () => {
    const via = (v: string) =>
      req([
        "OPTIONS sip:e@h SIP/2.0",
        `Via: ${v}`,
        "From: <sip:a@x>;tag=1",
        "To: <sip:e@h>",
        "Call-ID: c",
        "CSeq: 1 OPTIONS",
      ]);
    assert.deepEqual(new ResponseHead(via("SIP/2.0/UDP 10.0.0.2:5062;branch=z9hG4bK1"), SOURCE).route, {
      port: 5062,
      maddr: undefined,
      rport: undefined,
      received: "198.51.100.7",
    });
    assert.deepEqual(new ResponseHead(via("SIP/2.0/UDP 198.51.100.7;rport;branch=z9hG4bK1"), SOURCE).route, {
      port: undefined,
      maddr: undefined,
      rport: 40000,
      received: "198.51.100.7",
    });
    assert.equal(new ResponseHead(via("SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK1")).route, undefined);
  });

  test("ResponseHead.format() validates like createResponse()", () => {
    const head = new ResponseHead(req(BASE));
    assert.throws(() => head.format(200, undefined, { body: "x" }), TypeError);
    assert.throws(() => head.format(700), RangeError);
    assert.throws(() => head.format(200.5), RangeError);
  });
});

/** FNV-1a (32 bits) over UTF-16 code units, written out plainly: the reference of the tests below. */
function fnv1a(text: string, basis = 0x811c9dc5): number {
  let hash = basis >>> 0;
  for (const unit of Array.from({ length: text.length }, (_, i) => text.charCodeAt(i))) {
    hash = Number((BigInt(hash ^ unit) * 0x01000193n) & 0xffffffffn);
    hash >>>= 0;
  }
  return hash;
}

describe("statelessHash()", () => {
  test("statelessHash() is FNV-1a of Call-ID LF From tag, the salt xored into the offset basis", () => {
    assert.equal(fnv1a(""), 0x811c9dc5);
    assert.equal(fnv1a("foobar"), 0xbf9cf968); // the published FNV-1a 32-bit test vector
    for (
      const [callId, fromTag, salt] of [["c1@h", "t1", 0], ["", "", 0], ["a84b4c76e66710", "x", 0xdeadbeef]] as const
    ) {
      assert.equal(statelessHash(callId, fromTag, salt), fnv1a(callId + "\n" + fromTag, (0x811c9dc5 ^ salt) >>> 0));
    }
    assert.equal(statelessHash("c", "t"), statelessHash("c", "t", 0));
  });

  test("statelessTag() is the hash as 8 hex digits, zero-padded", () => {
    assert.equal(statelessTag("c1@h", "t1", 0x1000), statelessHash("c1@h", "t1", 0x1000).toString(16).padStart(8, "0"));
    // A salt equal to the offset basis starts the hash at 0: "\n" alone then hashes to 0xa000fbe.
    assert.equal(statelessTag("", "", 0x811c9dc5), "0a000fbe");
  });

  test("ResponseHead's own To tag is 's' and the hash of Call-ID, From, CSeq and top Via (values unchanged)", () => {
    const request = req(BASE);
    const tag = createResponse(request, 404).to.tag;
    const text = [
      "call-1@example.com",
      "Alice <sip:alice@example.com>;tag=f1",
      "7 INVITE",
      "SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKa1",
    ].join("\n");
    assert.equal(tag, "s" + fnv1a(text).toString(16).padStart(8, "0"));
  });
});

describe("reasonPhrase()", () => {
  test("reasonPhrase() knows every RFC 3261 §21 code", () => {
    const codes = [
      100,
      180,
      181,
      182,
      183,
      200,
      300,
      301,
      302,
      305,
      380,
      400,
      401,
      402,
      403,
      404,
      405,
      406,
      407,
      408,
      410,
      413,
      414,
      415,
      416,
      420,
      421,
      423,
      480,
      481,
      482,
      483,
      484,
      485,
      486,
      487,
      488,
      491,
      493,
      500,
      501,
      502,
      503,
      504,
      505,
      513,
      600,
      603,
      604,
      606,
    ];
    for (const code of codes) assert.ok(REASON_PHRASES[code], `no phrase for ${code}`);
    assert.equal(reasonPhrase(423), "Interval Too Brief");
    assert.equal(reasonPhrase(494), "Security Agreement Required");
    assert.equal(reasonPhrase(505), "Version Not Supported");
  });

  test("reasonPhrase() names the class of an unknown code", () => {
    assert.equal(reasonPhrase(199), "Early Dialog Terminated");
    assert.equal(reasonPhrase(155), "Provisional");
    assert.equal(reasonPhrase(299), "Success");
    assert.equal(reasonPhrase(399), "Redirection");
    assert.equal(reasonPhrase(598), "Server Error");
    assert.equal(reasonPhrase(699), "Global Failure");
  });
});
