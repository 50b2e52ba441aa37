import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseMessage, SipParseError, SipRequest, SipResponse } from "../../mod.ts";
import { sip, torture } from "../_data.ts";

const INVITE = [
  "INVITE sip:echo@192.0.2.7:5060;transport=udp SIP/2.0",
  "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK776asdhds;rport",
  "Max-Forwards: 70",
  'From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774',
  "To: <sip:echo@biloxi.example.com>",
  "Call-ID: a84b4c76e66710@pc33.atlanta.example.com",
  "CSeq: 314159 INVITE",
  "Contact: <sip:alice@192.0.2.101:5060>",
  "Content-Type: application/sdp",
];

function parseError(input: string | Uint8Array, options = {}): SipParseError {
  try {
    parseMessage(input, options);
  } catch (e) {
    assert.ok(e instanceof SipParseError, `expected SipParseError, got ${e}`);
    return e;
  }
  assert.fail("parseMessage() did not throw");
}

function request(input: string | Uint8Array): SipRequest {
  const m = parseMessage(input);
  assert.ok(m instanceof SipRequest);
  return m;
}

describe("parseMessage() start lines", () => {
  test("parseMessage() reads a request line", () => {
    const m = request(sip([...INVITE, "Content-Length: 0"]));
    assert.equal(m.method, "INVITE");
    assert.equal(m.uri, "sip:echo@192.0.2.7:5060;transport=udp");
    assert.equal(m.version, "SIP/2.0");
    assert.deepEqual(m.requestUri, {
      scheme: "sip",
      user: "echo",
      host: "192.0.2.7",
      port: 5060,
      params: { transport: "udp" },
      headers: {},
    });
  });

  test("parseMessage() reads a status line with an empty and a UTF-8 reason phrase", () => {
    const rest = [
      "Via: SIP/2.0/UDP h;branch=z9hG4bK1",
      "From: <sip:a@h>;tag=1",
      "To: <sip:b@h>",
      "Call-ID: c",
      "CSeq: 1 INVITE",
    ];
    const m = parseMessage(sip(["SIP/2.0 100 ", ...rest]));
    assert.ok(m instanceof SipResponse);
    assert.equal(m.status, 100);
    assert.equal(m.reason, "");
    const r = parseMessage(sip(["SIP/2.0 200 Ça va très bien", ...rest])) as SipResponse;
    assert.equal(r.reason, "Ça va très bien");
  });

  test("parseMessage() keeps methods case-sensitive and accepts extension methods", () => {
    const lines = INVITE.map((l) => l.replace("INVITE", "publish")).slice(0, 7);
    const m = request(sip(lines));
    assert.equal(m.method, "publish");
    assert.equal(m.cseq.method, "publish");
  });

  test("parseMessage() rejects a CSeq method that differs from the request method", () => {
    const lines = INVITE.slice(0, 7).map((l) => l.startsWith("CSeq") ? "CSeq: 1 invite" : l);
    const e = parseError(sip(lines));
    assert.equal(e.status, 400);
    assert.match(e.message, /^Cannot parse CSeq: method "invite" does not match the request method "INVITE"/);
  });

  test("parseMessage() answers 505 to an unsupported SIP-Version and 400 to a malformed one", () => {
    assert.equal(parseError(sip(["OPTIONS sip:a@b SIP/3.0"])).status, 505);
    const e = parseError(sip(["OPTIONS sip:a@b SIP/two"]));
    assert.equal(e.status, 400);
    assert.match(e.message, /"SIP\/two" is not a SIP-Version/);
  });

  test("parseMessage() answers 416 to an unsupported Request-URI scheme, keeping the message", () => {
    const lines = [
      "OPTIONS http://example.com/ SIP/2.0",
      ...INVITE.slice(1, 7).map((l) => l.replace("INVITE", "OPTIONS")),
    ];
    const e = parseError(sip(lines));
    assert.equal(e.status, 416);
    assert.equal(e.offset, 8);
    assert.ok(e.partial instanceof SipRequest);
    assert.equal(e.partial.callId, "a84b4c76e66710@pc33.atlanta.example.com");
    // The same request is fine where the scheme is supported.
    assert.equal(parseMessage(sip(lines), { uriSchemes: ["http"] }).type, "request");
  });

  test("parseMessage() rejects a status code outside 100..699", () => {
    const rest = ["Via: SIP/2.0/UDP h", "From: <sip:a@h>;tag=1", "To: <sip:b@h>", "Call-ID: c", "CSeq: 1 INVITE"];
    assert.match(parseError(sip(["SIP/2.0 700 Nope", ...rest])).message, /status code must be 3 digits 100..699/);
    assert.match(parseError(sip(["SIP/2.0 2000 OK", ...rest])).message, /status code/);
  });

  test("parseMessage() ignores CRLFs before the start line (RFC 3261 §7.5)", () => {
    assert.equal(request("\r\n\r\n" + sip(INVITE.slice(0, 7))).method, "INVITE");
  });
});

describe("parseMessage() header fields", () => {
  test("parseMessage() takes names in any case and every compact form", () => {
    const m = request(sip([
      "MESSAGE sip:echo@h SIP/2.0",
      "v: SIP/2.0/UDP h;branch=z9hG4bK1",
      "f: <sip:a@h>;tag=1",
      "T: <sip:echo@h>",
      "i: abc",
      "cseq: 1 MESSAGE",
      "m: <sip:a@h>",
      "c: text/plain",
      "e: identity",
      "s: hi",
      "k: 100rel",
      "o: presence",
      "u: talk",
      "r: <sip:x@h>",
      "b: <sip:y@h>",
      "x: 1800",
      "y: abc",
      "a: *;audio",
      "j: *;video",
      "d: proxy",
      "l: 2",
    ], "hi"));
    assert.deepEqual(m.headers.fields.map((f) => f.name), [
      "Via",
      "From",
      "To",
      "Call-ID",
      "CSeq",
      "Contact",
      "Content-Type",
      "Content-Encoding",
      "Subject",
      "Supported",
      "Event",
      "Allow-Events",
      "Refer-To",
      "Referred-By",
      "Session-Expires",
      "Identity",
      "Accept-Contact",
      "Reject-Contact",
      "Request-Disposition",
      "Content-Length",
    ]);
    assert.equal(m.bodyText, "hi");
  });

  test("parseMessage() undoes folding and keeps unknown headers verbatim and in order", () => {
    const m = request(sip([
      ...INVITE.slice(0, 7),
      "NewFangledHeader:   newfangled value",
      " continued newfangled value",
      "UnknownHeaderWithUnusualValue: ;;,,;;,;",
      "X-B: 2",
      "X-A: 1",
    ]));
    assert.deepEqual(m.headers.getFields("newfangledheader"), ["newfangled value continued newfangled value"]);
    assert.deepEqual(m.headers.getAll("UnknownHeaderWithUnusualValue"), [";;,,;;,;"]);
    assert.deepEqual(m.headers.fields.slice(-3).map((f) => f.name), ["UnknownHeaderWithUnusualValue", "X-B", "X-A"]);
  });

  test("parseMessage() splits comma lists but leaves WWW-Authenticate, Authorization and Date whole", () => {
    const m = request(sip([
      ...INVITE.slice(0, 7),
      'Contact: "Doe, J" <sip:j@h>;q=0.5, <sip:k@h;a=1>',
      'Authorization: Digest username="a", realm="b", nonce="c"',
      "Allow: INVITE, ACK,BYE",
      "Date: Sat, 13 Nov 2010 23:29:00 GMT",
    ]));
    assert.deepEqual(m.headers.getAll("Contact"), ['"Doe, J" <sip:j@h>;q=0.5', "<sip:k@h;a=1>"]);
    assert.deepEqual(m.headers.getAll("Authorization"), ['Digest username="a", realm="b", nonce="c"']);
    assert.deepEqual(m.headers.getAll("Allow"), ["INVITE", "ACK", "BYE"]);
    assert.deepEqual(m.headers.getAll("Date"), ["Sat, 13 Nov 2010 23:29:00 GMT"]);
    const contact = m.contact;
    assert.ok(Array.isArray(contact));
    assert.equal(contact[0].displayName, "Doe, J");
    assert.equal(contact[0].q, 0.5);
  });

  test("parseMessage() gives structured views of the headers a responder needs", () => {
    const m = request(sip([
      "REGISTER sip:registrar.example.com SIP/2.0",
      "Via: SIP/2.0/TCP [2001:db8::9]:5070;branch=z9hG4bKa;received=192.0.2.1;rport=4000;maddr=224.2.0.1;ttl=16",
      "Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKb;rport",
      "Max-Forwards: 0068",
      'From: "Bob \\"B\\"" <sips:bob:secret@example.com;user=phone>;tag=a73kszlfl',
      "To: sip:bob@example.com",
      "Call-ID: 1j9FpLxk3uxtm8tn@192.0.2.2",
      "CSeq: 0009 REGISTER",
      'Contact: <sip:bob@192.0.2.2>;expires=3600;+sip.instance="<urn:uuid:1>"',
      "Expires: 7200",
      "Require: path, gruu",
      "Supported: outbound",
      "Content-Type: Application/SDP; charset=utf-8",
    ]));
    const [a, b] = m.via;
    assert.deepEqual(a, {
      protocol: "SIP/2.0",
      transport: "TCP",
      host: "[2001:db8::9]",
      port: 5070,
      params: { branch: "z9hG4bKa", received: "192.0.2.1", rport: "4000", maddr: "224.2.0.1", ttl: "16" },
      branch: "z9hG4bKa",
      received: "192.0.2.1",
      rport: 4000,
      maddr: "224.2.0.1",
      ttl: 16,
    });
    assert.equal(b.rport, null);
    assert.equal(b.port, undefined);
    assert.equal(m.maxForwards, 68);
    assert.equal(m.from.displayName, 'Bob "B"');
    assert.equal(m.from.tag, "a73kszlfl");
    assert.deepEqual(m.from.parsedUri, {
      scheme: "sips",
      user: "bob",
      password: "secret",
      host: "example.com",
      params: { user: "phone" },
      headers: {},
    });
    assert.equal(m.to.uri, "sip:bob@example.com");
    assert.equal(m.to.tag, undefined);
    assert.deepEqual(m.cseq, { seq: 9, method: "REGISTER" });
    assert.equal(m.callId, "1j9FpLxk3uxtm8tn@192.0.2.2");
    const [contact] = m.contact as Exclude<typeof m.contact, "*">;
    assert.equal(contact.expires, 3600);
    assert.equal(contact.params["+sip.instance"], "<urn:uuid:1>");
    assert.equal(m.expires, 7200);
    assert.deepEqual(m.require, ["path", "gruu"]);
    assert.deepEqual(m.supported, ["outbound"]);
    assert.deepEqual(m.contentType, { mediaType: "application/sdp", params: { charset: "utf-8" } });
    assert.equal(m.contentLength, undefined);
  });

  test("parseMessage() reads Contact: * for a REGISTER that removes every binding", () => {
    const m = request(sip([
      "REGISTER sip:r SIP/2.0",
      "Via: SIP/2.0/UDP h;branch=z9hG4bK1",
      "From: <sip:a@r>;tag=1",
      "To: <sip:a@r>",
      "Call-ID: x",
      "CSeq: 2 REGISTER",
      "Contact: *",
      "Expires: 0",
    ]));
    assert.equal(m.contact, "*");
    assert.equal(m.expires, 0);
  });

  test("parseMessage() accepts CSeq 2^31-1 and rejects 2^31", () => {
    const at = (n: string) => sip([...INVITE.slice(0, 6), `CSeq: ${n} INVITE`]);
    assert.equal(request(at("2147483647")).cseq.seq, 2147483647);
    const e = parseError(at("2147483648"));
    assert.match(e.message, /^Cannot parse CSeq: sequence number 2147483648 is over 2\^31-1/);
    assert.match(parseError(at("abc")).message, /^Cannot parse CSeq: sequence number is not a number/);
  });

  test("parseMessage() names each missing mandatory header", () => {
    for (const name of ["Via", "From", "To", "Call-ID", "CSeq"]) {
      const lines = INVITE.slice(0, 7).filter((l) => !l.startsWith(name + ":"));
      const e = parseError(sip(lines));
      assert.equal(e.message, `Cannot parse ${name}: header is missing`);
      assert.equal(e.status, 400);
    }
  });

  test("parseMessage() reports the byte offset of a malformed header", () => {
    const text = sip([INVITE[0], "Via: SIP/2.0/UDP host;branch", ...INVITE.slice(2, 7)]);
    const e = parseError(text);
    assert.equal(e.offset, text.indexOf("Via:"));
    assert.equal(e.message, "Cannot parse Via: branch parameter has no value");
  });

  test("parseMessage() reports byte offsets past UTF-8 text", () => {
    const text = sip([INVITE[0], "Subject: été", "Via: SIP/2.0/UDP host;branch", ...INVITE.slice(2, 7)]);
    const e = parseError(text);
    assert.equal(e.offset, new TextEncoder().encode(text.slice(0, text.indexOf("Via:"))).length);
  });

  test("parseMessage() rejects a header line without a colon or with a bad name", () => {
    assert.match(parseError(sip([...INVITE.slice(0, 7), "Broken header"])).message, /no colon/);
    assert.match(parseError(sip([...INVITE.slice(0, 7), "Bad Name: x"])).message, /"Bad Name" is not a header name/);
  });
});

describe("parseMessage() bodies and framing", () => {
  test("parseMessage() keeps a binary body, NUL included, framed by Content-Length", () => {
    const head = new TextEncoder().encode(
      sip([...INVITE.slice(0, 7), "Content-Type: application/octet-stream", "Content-Length: 4"]),
    );
    const bytes = new Uint8Array([...head, 0, 13, 10, 255, 1, 2, 3]);
    const m = request(bytes);
    assert.deepEqual([...m.body], [0, 13, 10, 255]);
  });

  test("parseMessage() drops datagram bytes past the body", () => {
    const m = request(sip([...INVITE.slice(0, 7), "Content-Length: 2"], "hi there"));
    assert.equal(m.bodyText, "hi");
  });

  test("parseMessage() rejects a Content-Length larger than the datagram", () => {
    const e = parseError(sip([...INVITE.slice(0, 7), "Content-Length: 50"], "short"));
    assert.equal(e.message, "Cannot parse Content-Length: 50 is larger than the 5 bytes after the header section");
    assert.equal(e.status, 400);
  });

  test("parseMessage() takes the rest of the datagram when Content-Length is missing", () => {
    assert.equal(request(sip(INVITE.slice(0, 7), "v=0\r\n")).bodyText, "v=0\r\n");
  });

  test("parseMessage() in stream mode requires an exact Content-Length", () => {
    const e = parseError(sip(INVITE.slice(0, 7), "x"), { stream: true });
    assert.equal(e.message, "Cannot parse Content-Length: header is required on a stream transport");
    const e2 = parseError(sip([...INVITE.slice(0, 7), "Content-Length: 0"], "x"), { stream: true });
    assert.match(e2.message, /0 is smaller than the 1 bytes framed/);
  });

  test("parseMessage() rejects a negative or conflicting Content-Length", () => {
    assert.match(parseError(sip([...INVITE.slice(0, 7), "Content-Length: -1"])).message, /"-1" is not a number/);
    assert.match(
      parseError(sip([...INVITE.slice(0, 7), "Content-Length: 1", "l: 2"], "ab")).message,
      /conflicting values "1" and "2"/,
    );
  });

  test("parseMessage() rejects a message with no empty line after the headers", () => {
    assert.match(parseError(INVITE.join("\r\n")).message, /not ended by an empty line/);
  });

  test("parseMessage() accepts bare LF line ends", () => {
    const m = request(INVITE.slice(0, 7).join("\n") + "\n\nbody");
    assert.equal(m.callId, "a84b4c76e66710@pc33.atlanta.example.com");
    assert.equal(m.bodyText, "body");
  });
});

describe("parseMessage() fast paths and exact checks", () => {
  // The common shapes of the checked headers are read by fast paths; anything else by the exact
  // checks. Both must give the same message.
  const plain = [
    "INVITE sip:echo@192.0.2.7:5060;transport=udp SIP/2.0",
    "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK776asdhds;rport",
    "Via: SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bKb;received=192.0.2.1;ttl=16;maddr=224.0.0.1",
    "Max-Forwards: 70",
    'From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774',
    "To: Bob <sips:bob:pw@biloxi.example.com;user=phone?subject=x>",
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com",
    "CSeq: 314159 INVITE",
    'Contact: <sip:alice@192.0.2.101:5060>;expires=60;q=0.5, "B" <sip:b@h>;+sip.instance="<urn:x>"',
    "X-Custom: 1",
    "Content-Length: 0",
  ];
  // The same fields, each in a shape the fast paths leave to the exact checks.
  const unusual = [
    plain[0],
    "via:  SIP / 2.0 / UDP 192.0.2.101:5060 ; branch=z9hG4bK776asdhds;rport",
    "VIA: SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bKb;received=192.0.2.1;ttl=16;maddr=224.0.0.1 ",
    "max-forwards:70",
    'f: "Alice" <sip:alice@atlanta.example.com> ; tag=1928301774',
    "To: Bob",
    " <sips:bob:pw@biloxi.example.com;user=phone?subject=x>",
    "i:a84b4c76e66710@pc33.atlanta.example.com",
    "CSEQ: 314159  INVITE",
    'm: <sip:alice@192.0.2.101:5060>;expires=60;q=0.5 , "B" <sip:b@h>;+sip.instance="<urn:x>"',
    "X-Custom: 1",
    "l: 0",
  ];

  test("parseMessage() gives the same views through the fast paths and the exact checks", () => {
    const a = request(sip(plain));
    const b = request(sip(unusual));
    for (const m of [a, b]) assert.equal(m.headers.size, 10);
    assert.deepEqual(b.via, a.via);
    assert.deepEqual([b.from, b.to, b.callId, b.cseq], [a.from, a.to, a.callId, a.cseq]);
    assert.deepEqual([b.maxForwards, b.contentLength, b.contact], [a.maxForwards, a.contentLength, a.contact]);
    assert.deepEqual(b.headers.getAll("x-custom"), ["1"]);
  });

  test("parseMessage() finds the same faults through both paths", () => {
    const faults: [string, string, RegExp][] = [
      ["Via: SIP/2.0/UDP h;branch", "Via: SIP/2.0/UDP h ; branch", /^Cannot parse Via: branch parameter has no value/],
      ["From: <sip:a@b>;tag", "f: <sip:a@b>;tag ", /^Cannot parse From: tag parameter has no value/],
      ["Call-ID: a b", "i: a b", /^Cannot parse Call-ID: "a b" is not word\[@word\]/],
      [
        "CSeq: 99999999999 INVITE",
        "cseq: 99999999999 INVITE",
        /^Cannot parse CSeq: sequence number 99999999999 is over/,
      ],
      ["Max-Forwards: 256", "max-forwards: 256", /^Cannot parse Max-Forwards: 256 is over 255/],
      ["Content-Length: 1x", "l: 1x", /^Cannot parse Content-Length: "1x" is not a number/],
      ["Contact: <sip:a@b>;q=2", "m: <sip:a@b>;q=2", /^Cannot parse Contact: q "2" is not 0..1/],
    ];
    for (const [fast, slow, message] of faults) {
      const name = fast.slice(0, fast.indexOf(":"));
      for (const line of [fast, slow]) {
        const lines = [...INVITE.slice(0, 7).filter((l) => !l.startsWith(name + ":")), line];
        const text = sip(lines);
        const e = parseError(text);
        assert.match(e.message, message, line);
        assert.equal(e.offset, text.indexOf(line), line);
        assert.ok(e.partial, line);
      }
    }
  });

  test("parseMessage() reports the first fault in the order of the exact checks", () => {
    const lines = [...INVITE.slice(0, 2), "Max-Forwards: 300", ...INVITE.slice(3, 7), "Content-Length: x"];
    assert.match(parseError(sip(lines)).message, /^Cannot parse Max-Forwards: 300 is over 255/);
    const cseq = lines.map((l) => l.startsWith("CSeq") ? "CSeq: 1 BYE" : l);
    assert.match(parseError(sip(cseq)).message, /^Cannot parse CSeq: method "BYE" does not match/);
  });

  test("parseMessage() accepts a repeated Content-Length with the same value and no other repeat", () => {
    assert.equal(request(sip([...INVITE.slice(0, 7), "Content-Length: 2", "l: 2"], "ab")).bodyText, "ab");
    for (const line of INVITE.slice(2, 7)) {
      const e = parseError(sip([...INVITE.slice(0, 7), line]));
      assert.match(e.message, /header appears more than once$/, line);
    }
  });

  test("parseMessage() reads a request with unknown headers, compact forms and Contact: *", () => {
    const m = request(sip([
      "REGISTER sip:registrar.example.com SIP/2.0",
      "v: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKr",
      "P-Asserted-Identity: <sip:x@y>",
      "f: <sip:bob@example.com>;tag=7",
      "t: <sip:bob@example.com>",
      "i: 843817637684230@998sdasdh09",
      "CSeq: 1826 REGISTER",
      "m: *",
      "Expires: 0",
      "l: 0",
    ]));
    assert.equal(m.contact, "*");
    assert.deepEqual(m.cseq, { seq: 1826, method: "REGISTER" });
    assert.equal(m.headers.get("p-asserted-identity"), "<sip:x@y>");
    assert.equal(m.contentLength, 0);
  });

  test("parseMessage() reads a response, its CSeq method its own", () => {
    const m = parseMessage(sip([
      "SIP/2.0 180 Ringing",
      "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.101",
      "From: <sip:a@h>;tag=1",
      "To: <sip:b@h>;tag=2",
      "Call-ID: c@h",
      "CSeq: 2 INVITE",
      "Content-Length: 0",
    ]));
    assert.ok(m instanceof SipResponse);
    assert.equal(m.reason, "Ringing");
    assert.deepEqual(m.cseq, { seq: 2, method: "INVITE" });
    assert.equal(m.via[0].rport, 5060);
  });

  test("parseMessage() answers 416 to any scheme but sip, sips and tel, three letters long too", () => {
    for (const uri of ["sub:a@b", "tex:x", "sipx:a@b"]) {
      const lines = [`OPTIONS ${uri} SIP/2.0`, ...INVITE.slice(1, 7).map((l) => l.replace("INVITE", "OPTIONS"))];
      const e = parseError(sip(lines));
      assert.equal(e.status, 416, uri);
      assert.equal(e.offset, 8, uri);
    }
    const sips = [`OPTIONS sips:a@b SIP/2.0`, ...INVITE.slice(1, 7).map((l) => l.replace("INVITE", "OPTIONS"))];
    assert.equal(parseError(sip(sips), { uriSchemes: ["tel"] }).status, 416);
  });
});

describe("parseMessage() on bytes that are not UTF-8", () => {
  const latin1 = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

  test("parseMessage() ends a bare-LF header section holding a byte that is not UTF-8 where it ends", () => {
    // Such a byte decodes to one U+FFFD, three bytes if encoded again: the end of the header
    // section must be found in the bytes received, not in the text encoded again.
    const bytes = latin1(INVITE.slice(0, 7).join("\n") + "\nSubject: \xff\xfe\n\nbody");
    const m = request(bytes);
    assert.equal(m.headers.get("Subject"), "\ufffd\ufffd");
    assert.equal(m.bodyText, "body");
    assert.equal(m.callId, "a84b4c76e66710@pc33.atlanta.example.com");
  });

  test("parseMessage() reports byte offsets past bytes that are not UTF-8", () => {
    // "\xc3\x87" is UTF-8 for "Ç", so the text has fewer characters than bytes; "\xff" is no UTF-8.
    const text = sip([
      "SIP/2.0 200 \xc3\x87a \xff",
      "Subject: \xff",
      "Via: SIP/2.0/UDP host;branch",
      ...INVITE.slice(2, 7),
    ]);
    const e = parseError(latin1(text));
    assert.equal(e.offset, text.indexOf("Via:"));
    const bad = sip(["SIP/2.0 200 \xc3\x87a \xff", "Fr\rom: x", ...INVITE.slice(1, 7)]);
    assert.equal(parseError(latin1(bad)).offset, bad.indexOf("Fr\r"));
  });
});

describe("parseMessage() limits", () => {
  test("parseMessage() answers 513 over the size limit and still reads the message", () => {
    const text = sip([...INVITE.slice(0, 7), "Content-Length: 100"], "x".repeat(100));
    const e = parseError(text, { maxMessageSize: 200 });
    assert.equal(e.status, 513);
    assert.equal(e.limit, "maxMessageSize");
    assert.ok(e.partial);
    assert.equal(e.partial.callId, "a84b4c76e66710@pc33.atlanta.example.com");
  });

  test("parseMessage() rejects more header fields than the limit, with its own error", () => {
    const text = sip([...INVITE.slice(0, 7), ...Array.from({ length: 10 }, (_, i) => `X-${i}: ${i}`)]);
    const e = parseError(text, { maxHeaders: 15 });
    assert.equal(e.limit, "maxHeaders");
    assert.equal(e.message, "Message has more than 15 header fields");
    assert.equal(parseMessage(text, { maxHeaders: 16 }).headers.size, 16);
  });
});

describe("parseMessage() on the RFC 4475 and RFC 5118 torture tests", () => {
  for (const c of [...torture("rfc4475"), ...torture("rfc5118")]) {
    const mustParse = c.verdict === "valid" ||
      (c.verdict === "semantic" && c.status !== 505 &&
        !(c.status === 400 && ["mismatch01", "insuf", "multi01"].includes(c.name)) &&
        !["mismatch02", "unkscm", "novelsc"].includes(c.name));
    if (mustParse) {
      test(`parseMessage() accepts ${c.name} (RFC ${c.section})`, () => {
        const m = parseMessage(c.bytes);
        // Every view of a parsed message works.
        assert.ok(m.via.length > 0);
        assert.ok(m.from.uri && m.to.uri && m.callId && m.cseq);
        m.contact;
        if (m.type === "request") assert.ok(m.requestUri);
      });
    } else {
      test(`parseMessage() rejects ${c.name} (RFC ${c.section}) with ${c.status ?? "an error"}`, () => {
        const e = parseError(c.bytes);
        if (c.status !== null) {
          assert.ok([c.status, ...c.also_ok].includes(e.status), `status ${e.status}: ${e.message}`);
        }
        assert.ok(e.offset >= 0 && e.offset <= c.bytes.length);
      });
    }
  }

  test("parseMessage() reads wsinv's folded, spaced and compact headers right", () => {
    const c = torture("rfc4475").find((t) => t.name === "wsinv")!;
    const m = request(c.bytes);
    assert.equal(m.to.tag, "1918181833n");
    assert.equal(m.from.displayName, 'J Rosenberg \\"');
    assert.equal(m.from.tag, "98asjd8");
    assert.equal(m.maxForwards, 68);
    assert.deepEqual(m.cseq, { seq: 9, method: "INVITE" });
    assert.deepEqual(m.via.map((v) => [v.transport, v.host, v.branch]), [
      ["UDP", "192.0.2.2", "390skdjuw"],
      ["TCP", "spindle.example.com", "z9hG4bK9ikj8"],
      ["UDP", "192.168.255.111", "z9hG4bK30239"],
    ]);
    assert.equal(m.headers.get("Subject"), "");
    assert.equal(m.headers.get("UnknownHeaderWithUnusualValue"), ";;,,;;,;");
    assert.equal(m.body.length, 150);
  });

  test("parseMessage() unescapes URIs once (esc01, escnull, semiuri)", () => {
    const cases = torture("rfc4475");
    const esc01 = request(cases.find((t) => t.name === "esc01")!.bytes);
    assert.equal((esc01.requestUri as { user: string }).user, "sips:user@example.com");
    const contact = esc01.contact as Exclude<typeof esc01.contact, "*">;
    assert.equal((contact[0].parsedUri as { params: Record<string, string> }).params.name, "value%41");
    const escnull = request(cases.find((t) => t.name === "escnull")!.bytes);
    assert.deepEqual(
      (escnull.contact as Exclude<typeof escnull.contact, "*">).map((c) => (c.parsedUri as { user: string }).user),
      ["\0", "\0\0"],
    );
    const semiuri = request(cases.find((t) => t.name === "semiuri")!.bytes);
    assert.equal((semiuri.requestUri as { user: string }).user, "user;par=u@example.net");
  });

  test("parseMessage() tells URI parameters from Contact parameters (cparam01, cparam02)", () => {
    const cases = torture("rfc4475");
    const c1 = request(cases.find((t) => t.name === "cparam01")!.bytes).contact as Exclude<SipRequest["contact"], "*">;
    assert.equal(c1[0].params.unknownparam, null);
    assert.deepEqual((c1[0].parsedUri as { params: object }).params, {});
    const c2 = request(cases.find((t) => t.name === "cparam02")!.bytes).contact as Exclude<SipRequest["contact"], "*">;
    assert.deepEqual((c2[0].parsedUri as { params: object }).params, { unknownparam: null });
    assert.deepEqual(c2[0].params, {});
  });

  test("parseMessage() ignores the octets after dblreq's body and takes inv2543's whole datagram", () => {
    const cases = torture("rfc4475");
    assert.equal(request(cases.find((t) => t.name === "dblreq")!.bytes).body.length, 0);
    assert.equal(request(cases.find((t) => t.name === "inv2543")!.bytes).body.length, 105);
    assert.equal(request(cases.find((t) => t.name === "mpart01")!.bytes).body.length, 553);
  });

  test("parseMessage() reads IPv6 references (RFC 5118)", () => {
    const cases = torture("rfc5118");
    const ambiguous = request(cases.find((t) => t.name === "port-ambiguous")!.bytes);
    assert.deepEqual([
      (ambiguous.requestUri as { host: string }).host,
      (ambiguous.requestUri as { port?: number }).port,
    ], [
      "[2001:db8::10:5070]",
      undefined,
    ]);
    const unambiguous = request(cases.find((t) => t.name === "port-unambiguous")!.bytes);
    assert.equal((unambiguous.requestUri as { port?: number }).port, 5070);
    const delim = request(cases.find((t) => t.name === "via-received-param-with-delim")!.bytes);
    assert.equal(delim.via[0].received, "[2001:db8::9:255]");
  });
});

test("parseMessage() reads values after several spaces as after one (SIPp writes `Content-Length:   129`)", () => {
  const head = (gap: string) =>
    `INVITE sip:b@h SIP/2.0\r\nVia:${gap}SIP/2.0/UDP h:5060;branch=z9hG4bK1\r\nFrom:${gap}<sip:a@h>;tag=1\r\n` +
    `To:${gap}<sip:b@h>\r\nCall-ID:${gap}c1\r\nCSeq:${gap}1 INVITE\r\nMax-Forwards:${gap}70\r\n` +
    `Content-Type: text/plain\r\nContent-Length:${gap}5\r\n\r\nhello`;
  const one = parseMessage(head(" ")) as SipRequest;
  for (const gap of ["   ", " \t ", "\t"]) {
    const many = parseMessage(head(gap)) as SipRequest;
    assert.deepEqual([...many.headers], [...one.headers], JSON.stringify(gap));
    assert.deepEqual([many.via, many.from, many.to, many.callId, many.cseq], [
      one.via,
      one.from,
      one.to,
      one.callId,
      one.cseq,
    ]);
    assert.equal(many.contentLength, 5);
    assert.equal(many.maxForwards, 70);
    assert.equal(many.bodyText, "hello");
  }
  // A value that is only spaces is still an error, as before.
  assert.throws(() => parseMessage(head(" ").replace("CSeq: 1 INVITE", "CSeq:   ")), SipParseError);
});
