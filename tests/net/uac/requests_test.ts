// The requests the mock's UAC writes, without sockets: the fields of RFC 3261 §8.1.1, and the
// CANCEL (§9.1) and the ACK of a non-2xx (§17.1.1.3), which copy their INVITE.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseMessage, type SipRequest, type SipResponse } from "../../../mod.ts";
import { _buildRequest, _cancelOf, _identityFields, _nonSuccessAckOf } from "../../../src/net/uac/requests.ts";

const local = { address: "::1", port: 5062 };

function invite(): SipRequest {
  return _buildRequest({
    method: "INVITE",
    uri: "sip:bob@192.0.2.1",
    transport: "udp",
    local,
    fields: _identityFields({
      maxForwards: "7",
      from: "<sip:alice@[::1]:5062>;tag=a1",
      to: "<sip:bob@192.0.2.1>",
      callId: "c1@[::1]",
      cseq: "4 INVITE",
      routes: ["<sip:p1@192.0.2.8;lr>", "<sip:p2@192.0.2.9;lr>"],
    }),
  });
}

describe("_buildRequest()", () => {
  test("_buildRequest() puts a Via of our own on top, with a new branch and rport (RFC 3261 §8.1.1.7)", () => {
    const request = invite();
    assert.match(request.headers.get("Via")!, /^SIP\/2\.0\/UDP \[::1\]:5062;branch=z9hG4bK[0-9a-f]{16};rport$/);
    assert.deepEqual(
      [...request.headers].map(([name]) => name),
      ["Via", "Max-Forwards", "From", "To", "Call-ID", "CSeq", "Route", "Route"],
    );
    assert.notEqual(invite().via[0].branch, request.via[0].branch);
  });

  test("_buildRequest() lets the caller's headers replace the UAC's, adds the rest, and tags a From", () => {
    const request = _buildRequest({
      method: "MESSAGE",
      uri: "sip:bob@192.0.2.1",
      transport: "tcp",
      local: { address: "192.0.2.5", port: 5070 },
      fields: _identityFields({
        from: "<sip:a@192.0.2.5>;tag=1",
        to: "<sip:bob@192.0.2.1>",
        callId: "c2",
        cseq: "1 MESSAGE",
      }),
      headers: [["from", "<sip:alice@example.com>"], ["Subject", "hi"], ["X-Test", "again"], [
        "content-type",
        "text/x",
      ]],
      body: "hello",
    });
    assert.match(request.headers.get("Via")!, /^SIP\/2\.0\/TCP 192\.0\.2\.5:5070;/);
    assert.match(request.headers.get("From")!, /^<sip:alice@example\.com>;tag=[0-9a-f]{8}$/);
    assert.deepEqual([request.headers.get("Subject"), request.headers.get("X-Test")], ["hi", "again"]);
    assert.equal(request.headers.get("Content-Type"), "text/x");
    assert.equal(request.bodyText, "hello");
  });

  test("_buildRequest() sends every field of a name the caller repeats (Route, Route)", () => {
    const request = _buildRequest({
      method: "OPTIONS",
      uri: "sip:bob@192.0.2.1",
      transport: "udp",
      local,
      fields: _identityFields({
        from: "<sip:a@[::1]>;tag=1",
        to: "<sip:bob@192.0.2.1>",
        callId: "c3",
        cseq: "1 OPTIONS",
      }),
      headers: [["Route", "<sip:p1@192.0.2.8;lr>"], ["Route", "<sip:p2@192.0.2.9;lr>"]],
    });
    assert.deepEqual(request.headers.getAll("Route"), ["<sip:p1@192.0.2.8;lr>", "<sip:p2@192.0.2.9;lr>"]);
  });

  test("_buildRequest() gives a body its Content-Type: SDP for v=0, else text/plain", () => {
    const fields = () =>
      _identityFields({ from: "<sip:a@192.0.2.5>;tag=1", to: "<sip:b@192.0.2.1>", callId: "c3", cseq: "1 INFO" });
    const draft = { method: "INFO", uri: "sip:b@192.0.2.1", transport: "udp" as const, local };
    assert.equal(
      _buildRequest({ ...draft, fields: fields(), body: "v=0\r\n" }).contentType?.mediaType,
      "application/sdp",
    );
    assert.equal(_buildRequest({ ...draft, fields: fields(), body: "Signal=5" }).contentType?.mediaType, "text/plain");
    assert.equal(_buildRequest({ ...draft, fields: fields() }).headers.get("Content-Type"), undefined);
  });

  test("_buildRequest() refuses a Via or Content-Length from the caller", () => {
    for (const name of ["via", "Content-Length"]) {
      assert.throws(
        () =>
          _buildRequest({
            method: "OPTIONS",
            uri: "sip:b@192.0.2.1",
            transport: "udp",
            local,
            fields: [],
            headers: { [name]: "1" },
          }),
        (e: unknown) => e instanceof TypeError && /is written by the UAC, not by headers/.test(e.message),
      );
    }
  });
});

describe("_cancelOf() and _nonSuccessAckOf()", () => {
  const busy = (request: SipRequest): SipResponse =>
    parseMessage(
      `SIP/2.0 486 Busy Here\r\nVia: ${request.headers.get("Via")}\r\nFrom: ${request.headers.get("From")}\r\n` +
        `To: <sip:bob@192.0.2.1>;tag=b9\r\nCall-ID: c1@[::1]\r\nCSeq: 4 INVITE\r\nContent-Length: 0\r\n\r\n`,
    ) as SipResponse;

  test("_cancelOf() copies the INVITE's Request-URI, top Via, Max-Forwards, From, To, Call-ID, CSeq number and Route (RFC 3261 §9.1)", () => {
    const request = invite();
    const cancel = _cancelOf(request);
    assert.equal(cancel.method, "CANCEL");
    assert.equal(cancel.uri, request.uri);
    assert.deepEqual([...cancel.headers], [
      ["Via", request.headers.get("Via")],
      ["Max-Forwards", "7"],
      ["From", "<sip:alice@[::1]:5062>;tag=a1"],
      ["To", "<sip:bob@192.0.2.1>"],
      ["Call-ID", "c1@[::1]"],
      ["CSeq", "4 CANCEL"],
      ["Route", "<sip:p1@192.0.2.8;lr>"],
      ["Route", "<sip:p2@192.0.2.9;lr>"],
    ]);
  });

  test("_nonSuccessAckOf() is the same request in the INVITE's transaction, with the To of the response (RFC 3261 §17.1.1.3)", () => {
    const request = invite();
    const ack = _nonSuccessAckOf(request, busy(request));
    const cancel = _cancelOf(request);
    assert.equal(ack.method, "ACK");
    assert.equal(ack.uri, cancel.uri);
    assert.equal(ack.headers.get("To"), "<sip:bob@192.0.2.1>;tag=b9");
    assert.equal(ack.headers.get("Max-Forwards"), "70");
    assert.equal(ack.headers.get("CSeq"), "4 ACK");
    for (const name of ["Via", "From", "Call-ID"]) assert.equal(ack.headers.get(name), cancel.headers.get(name));
    assert.deepEqual(ack.headers.getAll("Route"), cancel.headers.getAll("Route"));
  });
});
