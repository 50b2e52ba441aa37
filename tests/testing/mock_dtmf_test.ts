// A mock peer's scripted answer with a `dtmf` key sequence: the keys of a call (here SIP INFO,
// RFC 2976) that end with it make the mock hang up, as `serve()` does for a rules file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mockPeer } from "../../mod.ts";
import { freeBlock } from "../_ports.ts";

const BASE = await freeBlock(10);

test('mockPeer(): answer(..., { dtmf: { "12#": "hangup" } }) sends BYE after 1, 2, #, not before', async () => {
  await using sut = await mockPeer({ user: "sut", media: { portRange: [BASE, BASE + 9] } });
  await using caller = await mockPeer();
  sut.answer({ method: "INVITE" }, { default: true, dtmf: { "12#": "hangup", "0": "echo" } });
  const call = await caller.request({ method: "INVITE", uri: sut.uri, sdp: true });
  call.ack(); // RFC 3261 §15: no BYE from the mock before the ACK of its 2xx
  for (const key of ["1", "2"]) {
    assert.equal((await call.inDialog("INFO", { body: key, contentType: "application/dtmf" })).status, 200);
  }
  await assert.rejects(caller.waitFor("BYE", { timeout: 300 }));
  assert.equal((await call.inDialog("INFO", { body: "#", contentType: "application/dtmf" })).status, 200);
  const bye = await caller.waitFor("BYE");
  assert.equal(bye.callId, call.response.callId);
  assert.equal(sut.digits(), "12#");
});
