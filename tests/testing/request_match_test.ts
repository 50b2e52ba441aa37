// What a test waits for or answers, compiled into one predicate, without sockets.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseMessage, type SipRequest } from "../../mod.ts";
import { _compileMatch, _describeMatch, _explainMiss } from "../../src/testing/request_match.ts";

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

  test("_compileMatch() refuses a reserved key in the wrong case or misspelt, suggesting it", () => {
    assert.throws(() => _compileMatch({ Method: "INVITE" }, "waitFor()"), {
      name: "TypeError",
      message: 'waitFor(): unknown key "Method" (did you mean "method"?); other keys are header names',
    });
    assert.throws(
      () => _compileMatch({ metod: "INVITE" }, "answer()"),
      /answer\(\): unknown key "metod" \(did you mean "method"\?\)/,
    );
    assert.throws(() => _compileMatch({ touser: "bob" }, "t"), /unknown key "touser" \(did you mean "toUser"\?\)/);
    // Header names stay header names, known or not, whatever their case.
    assert.equal(_compileMatch({ "x-user": /./, USER_AGENT: undefined, to: /bob/ }, "t")(message, udp), false);
    assert.equal(_compileMatch({ TO: /bob/, "content-length": "7" }, "t")(message, udp), true);
  });

  test("_compileMatch() refuses a headers object and a header name that is not a token", () => {
    assert.throws(() => _compileMatch({ headers: { Subject: "lunch?" } } as never, "waitFor()"), {
      message: 'waitFor(): "headers": a pattern names its headers at the top level: { Subject: "lunch?" } ' +
        "(a rules file's match has a headers object, a pattern does not)",
    });
    assert.throws(() => _compileMatch({ "Call ID": "m1" }, "waitFor()"), {
      message: 'waitFor(): "Call ID": a header name must be a token (RFC 3261 §25.1)',
    });
  });

  test("_compileMatch() refuses a method that is not upper case, as a string or in a pattern", () => {
    const problem = (m: string) =>
      `must be upper case: methods are case-sensitive (RFC 3261 §7.1), so "${m}" matches no ${m.toUpperCase()}; ` +
      `did you mean "${m.toUpperCase()}"? (to match a lower-case method on purpose, use a predicate)`;
    assert.throws(() => _compileMatch("message", "waitFor()"), { message: `waitFor(): method ${problem("message")}` });
    assert.throws(() => _compileMatch({ method: "invite" }, "answer()"), {
      message: `answer(): method ${problem("invite")}`,
    });
    assert.throws(() => _compileMatch({ method: ["INVITE", "Bye"] }, "t"), { message: `t: method ${problem("Bye")}` });
    assert.throws(() => _compileMatch({ method: "IN VITE" }, "t"), /t: method must be a SIP method token/);
    assert.equal(_compileMatch({ method: "X-PING" }, "t")(message, udp), false);
  });

  test("_compileMatch() refuses a transport it does not know, suggesting the lower-case one", () => {
    assert.throws(() => _compileMatch({ transport: "UDP" as never }, "t"), {
      message: 't: transport must be one of udp, tcp, tls, ws, wss, got "UDP" (did you mean "udp"?)',
    });
  });

  test("_compileMatch() matches toUser and fromUser, and refuses user for a REGISTER (RFC 3261 §10.2)", () => {
    assert.equal(_compileMatch({ toUser: "bob", fromUser: "a" }, "t")(message, udp), true);
    assert.equal(_compileMatch({ toUser: /^al/ }, "t")(message, udp), false);
    assert.throws(() => _compileMatch({ method: "REGISTER", user: "alice" }, "waitFor()"), {
      message: 'waitFor(): "user" is the Request-URI user, and a REGISTER\'s Request-URI has none: it names ' +
        "the registrar's domain (RFC 3261 §10.2.1); the user registering is in To: use toUser",
    });
  });
});

describe("_explainMiss()", () => {
  const register = parseMessage(
    "REGISTER sip:192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5062;branch=z9hG4bK2\r\n" +
      "From: <sip:alice@192.0.2.1>;tag=2\r\nTo: <sip:alice@192.0.2.1>\r\nCall-ID: r1\r\nCSeq: 1 REGISTER\r\n" +
      "Expires: 600\r\nContent-Type: Application/SDP\r\nContent-Length: 0\r\n\r\n",
  ) as SipRequest;

  test("_explainMiss() says, per condition that fails, what was expected and what came", () => {
    assert.deepEqual(_explainMiss({ method: "INVITE", Expires: "3600", Subject: /./ }, register, udp), [
      "method: expected INVITE, got REGISTER",
      'Expires: expected "3600", got "600"',
      "Subject: expected /./, got no Subject header",
    ]);
    assert.deepEqual(_explainMiss({ method: ["INVITE", "BYE"], body: "x", transport: "tcp" }, register, udp), [
      "method: expected one of INVITE, BYE, got REGISTER",
      'body: expected "x", got ""',
      "transport: expected tcp, got udp",
    ]);
    assert.deepEqual(_explainMiss({ "content-type": "application/sdp" }, register, udp), [
      'Content-Type: expected "application/sdp", got "Application/SDP" (differs in case only)',
    ]);
    assert.deepEqual(_explainMiss({ method: "REGISTER", Expires: "600" }, register, udp), []);
  });

  test("_explainMiss() points a Request-URI user at the To user of a REGISTER", () => {
    assert.deepEqual(_explainMiss({ user: "alice" }, register, udp), [
      'Request-URI user: expected "alice", got "" (the To user is "alice": a REGISTER names the user it ' +
      "registers in To, RFC 3261 §10.2; match it with toUser)",
    ]);
  });

  test("_explainMiss() says a predicate returned false or threw", () => {
    assert.deepEqual(
      _explainMiss(
        function isBye(r) {
          return r.method === "BYE";
        },
        register,
        udp,
      ),
      ["predicate isBye: expected true, got false"],
    );
    assert.deepEqual(
      _explainMiss(
        () => {
          throw new Error("boom");
        },
        register,
        udp,
      ),
      ["a predicate: expected true, got an error: boom"],
    );
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
