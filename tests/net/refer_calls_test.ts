// The dialler of "refer": "call" without a network (src/net/refer_calls.ts): its safety check
// (sip: URIs with an IP host; on the public profile the caller's address or the server's own
// listener only) and its limit of MAX_REFER_CALLS calls at once, with a fake driver that records
// the outcomes reported and a send that never gets an answer.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { _ReferCalls, MAX_REFER_CALLS } from "../../src/net/refer_calls.ts";
import type { _PeerDriver } from "../../src/net/peer_driver.ts";
import type { BoundAddress } from "../../src/net/listeners.ts";
import { DEFAULT_TIMERS } from "../../src/ua/transaction.ts";

const CALLER = "192.0.2.9";

function dialler(lab: boolean) {
  const outcomes: [string, number][] = [];
  const sent: string[] = [];
  const driver = {
    peer: {
      dialogs: [{ callId: "c1", source: { address: CALLER, port: 5070, transport: "udp" } }],
      referOutcome: (id: string, status: number) => void outcomes.push([id, status]),
      takeRequests: () => [],
    },
    run: (step: () => void) => step(),
    send: () => {},
  } as unknown as _PeerDriver;
  const addresses: BoundAddress[] = [{ transport: "udp", address: "192.0.2.1", port: 5060 } as BoundAddress];
  const calls = new _ReferCalls({
    send: (data, to) => {
      sent.push(`${to.address}:${to.port} ${new TextDecoder().decode(data).split("\r\n")[0]}`);
      return Promise.resolve();
    },
    addresses: () => addresses,
    advertise: "192.0.2.1",
    lab,
    timers: DEFAULT_TIMERS,
    driver: () => driver,
    event: () => {},
  });
  const refer = (id: string, uri: string) => calls.onRefer({ id, callId: "c1", target: { uri } });
  return { calls, refer, outcomes, sent };
}

describe("_ReferCalls: which Refer-To targets sipecho calls", () => {
  test("public: the caller's address and sipecho's own listener are called; others get 403", () => {
    const { calls, refer, outcomes, sent } = dialler(false);
    try {
      refer("a", `sip:bob@${CALLER}:5080`);
      refer("b", "sip:busy@192.0.2.1:5060");
      refer("c", "sip:victim@198.51.100.7");
      refer("d", "sip:busy@192.0.2.1:22"); // our address, not our SIP port
      refer("e", "sip:bob@example.com"); // a name: never looked up
      refer("f", "sips:bob@192.0.2.9");
      refer("g", "tel:+15555550100");
      refer("h", `sip:bob@${CALLER};transport=tls`);
      assert.deepEqual(sent, [
        `${CALLER}:5080 INVITE sip:bob@${CALLER}:5080 SIP/2.0`,
        "192.0.2.1:5060 INVITE sip:busy@192.0.2.1:5060 SIP/2.0",
      ]);
      assert.deepEqual(outcomes, [["c", 403], ["d", 403], ["e", 403], ["f", 403], ["g", 403], ["h", 403]]);
    } finally {
      calls.close();
    }
  });

  test("lab: any IP address; at most MAX_REFER_CALLS at once, the next gets 503", () => {
    const { calls, refer, outcomes, sent } = dialler(true);
    try {
      for (let i = 0; i < MAX_REFER_CALLS; i++) refer(`r${i}`, `sip:t${i}@198.51.100.7`);
      assert.equal(sent.length, MAX_REFER_CALLS);
      assert.deepEqual(outcomes, []);
      refer("over", "sip:one-more@198.51.100.7");
      assert.equal(sent.length, MAX_REFER_CALLS);
      assert.deepEqual(outcomes, [["over", 503]]);
    } finally {
      calls.close();
    }
  });
});
