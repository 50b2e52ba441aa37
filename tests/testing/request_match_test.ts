// What a test waits for or answers, compiled into one predicate, without sockets.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseMessage, type SipRequest } from "../../mod.ts";
import { _compileMatch, _describeMatch } from "../../src/testing/request_match.ts";

const udp = { address: "192.0.2.9", port: 5062, transport: "udp" as const };

function request(head: string, body = ""): SipRequest {
  return parseMessage(
    `${head}\r\nVia: SIP/2.0/UDP 192.0.2.9:5062;branch=z9hG4bK1\r\nFrom: <sip:a@192.0.2.9>;tag=1\r\n` +
      `To: <sip:bob@192.0.2.1>\r\nCall-ID: m1\r\nCSeq: 1 MESSAGE\r\nAllow: INVITE, BYE\r\nSubject: lunch?\r\n` +
      `Content-Length: ${body.length}\r\n\r\n${body}`,
  ) as SipRequest;
}

describe("_compileMatch()", () => {
  const message = request("MESSAGE sip:bob@192.0.2.1 SIP/2.0", "at noon");

  test("_compileMatch() takes a method, a predicate, or a pattern whose every key must hold", () => {
    assert.equal(_compileMatch("MESSAGE", "t")(message, udp), true);
    assert.equal(_compileMatch("message", "t")(message, udp), false);
    assert.equal(_compileMatch((r, s) => r.method === "MESSAGE" && s.port === 5062, "t")(message, udp), true);
    assert.equal(_compileMatch({ method: ["INFO", "MESSAGE"], user: "bob", body: /noon/ }, "t")(message, udp), true);
    assert.equal(_compileMatch({ method: "MESSAGE", user: "alice" }, "t")(message, udp), false);
    assert.equal(_compileMatch({ transport: "tcp" }, "t")(message, udp), false);
    assert.equal(_compileMatch({ method: undefined }, "t")(message, udp), true);
  });

  test("_compileMatch() finds a header by any name, compact forms too, and each item of a comma list", () => {
    assert.equal(_compileMatch({ subject: "lunch?" }, "t")(message, udp), true);
    assert.equal(_compileMatch({ s: /^lunch/ }, "t")(message, udp), true);
    assert.equal(_compileMatch({ Allow: "BYE" }, "t")(message, udp), true);
    assert.equal(_compileMatch({ Subject: "lunch" }, "t")(message, udp), false, "a string is compared whole");
    assert.equal(_compileMatch({ "X-Absent": /./ }, "t")(message, udp), false);
  });

  test("_compileMatch() refuses a match or a value of the wrong kind, naming the caller", () => {
    assert.throws(() => _compileMatch(42 as never, "waitFor()"), /^TypeError: waitFor\(\): match must be/);
    assert.throws(() => _compileMatch({ Subject: 1 } as never, "answer()"), /answer\(\): "Subject" must be a string/);
  });
});

describe("_describeMatch()", () => {
  test("_describeMatch() says a match in words", () => {
    assert.equal(_describeMatch("BYE"), '"BYE"');
    assert.equal(
      _describeMatch(function isBye() {
        return true;
      }),
      "predicate isBye",
    );
    assert.equal(_describeMatch(() => true), "a predicate");
    assert.equal(
      _describeMatch({ method: "BYE", "Call-ID": /^c/, user: undefined }),
      '{ method: "BYE", "Call-ID": /^c/ }',
    );
  });
});
