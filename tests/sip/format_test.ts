import { test } from "node:test";
import assert from "node:assert/strict";
import { formatMessage, parseMessage, type SipMessage, SipRequest, SipResponse } from "../../mod.ts";
import { dataFile, torture } from "../_data.ts";

const decoder = new TextDecoder();

/** What a message is, as plain data: start line, header fields and body. */
function plain(m: SipMessage) {
  return {
    start: m.type === "request" ? [m.method, m.uri, m.version] : [m.version, m.status, m.reason],
    fields: m.headers.fields.map((f) => [f.name, f.value]),
    body: [...m.body],
  };
}

test("formatMessage() writes CRLF lines, headers in order and a right Content-Length", () => {
  const req = new SipRequest({
    method: "MESSAGE",
    uri: "sip:echo@127.0.0.1",
    headers: [["v", "SIP/2.0/UDP h;branch=z9hG4bK1"], ["X-Z", "last?"], ["l", "999"], ["X-A", "after"]],
    body: "héllo",
  });
  assert.equal(
    decoder.decode(formatMessage(req)),
    "MESSAGE sip:echo@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nX-Z: last?\r\n" +
      "Content-Length: 6\r\nX-A: after\r\n\r\nhéllo",
  );
});

test("formatMessage() adds Content-Length when absent and keeps binary bodies", () => {
  const res = new SipResponse({
    status: 200,
    reason: "OK",
    headers: [["CSeq", "1 INFO"]],
    body: new Uint8Array([0, 255, 13]),
  });
  const bytes = formatMessage(res);
  assert.equal(
    decoder.decode(bytes.subarray(0, bytes.length - 3)),
    "SIP/2.0 200 OK\r\nCSeq: 1 INFO\r\nContent-Length: 3\r\n\r\n",
  );
  assert.deepEqual([...bytes.subarray(bytes.length - 3)], [0, 255, 13]);
});

test("formatMessage() then parseMessage() gives back every torture message that parses", () => {
  let count = 0;
  for (const c of [...torture("rfc4475"), ...torture("rfc5118")]) {
    let m: SipMessage;
    try {
      m = parseMessage(c.bytes);
    } catch {
      continue;
    }
    const again = parseMessage(formatMessage(m));
    const expected = plain(m);
    // A message that had no Content-Length gets one.
    if (!m.headers.has("Content-Length")) expected.fields.push(["Content-Length", String(m.body.length)]);
    assert.deepEqual(plain(again), expected, c.name);
    count++;
  }
  assert.ok(count >= 36, `only ${count} messages round-tripped`);
});

test("formatMessage() then parseMessage() gives back the benchmark corpus exactly", () => {
  for (const name of ["invite-softphone.sip", "register-auth.sip", "ok-invite.sip"]) {
    const m = parseMessage(dataFile("corpus/" + name));
    assert.deepEqual(parseMessage(formatMessage(m)), m, name);
  }
});
