import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_TIMERS,
  isReliable,
  ServerTransaction,
  type TransactionEvent,
  transactionKey,
  TransactionTable,
} from "../../src/ua/transaction.ts";
import { Dialog, dialogId, DialogTable } from "../../src/ua/dialog.ts";
import { createResponse } from "../../src/sip/response.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import type { SipRequest } from "../../src/sip/message.ts";
import type { Transport } from "../../src/rules/rules.ts";
import { sip } from "../_data.ts";

function request(method: string, options: { via?: string; to?: string; cseqMethod?: string } = {}): SipRequest {
  const m = parseMessage(sip([
    `${method} sip:echo@192.0.2.1 SIP/2.0`,
    `Via: ${options.via ?? "SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKtx1"}`,
    "From: <sip:alice@example.com>;tag=f1",
    `To: ${options.to ?? "<sip:echo@192.0.2.1>"}`,
    "Call-ID: tx-1@example.com",
    `CSeq: 1 ${options.cseqMethod ?? method}`,
  ]));
  return m as SipRequest;
}

function sent(events: TransactionEvent[]): number[] {
  return events.map((e) => (e.kind === "send" ? e.response.status : -1));
}

function tx(method: string, transport: Transport = "udp", retransmit = true): ServerTransaction {
  return new ServerTransaction({ request: request(method), transport, timers: DEFAULT_TIMERS, retransmit });
}

describe("transactionKey()", () => {
  test("transactionKey() uses branch, sent-by and method; ACK matches INVITE (RFC 3261 §17.2.3)", () => {
    assert.equal(transactionKey(request("INVITE")), "z9hG4bKtx1|192.0.2.9:5060|INVITE");
    assert.equal(transactionKey(request("ACK")), "z9hG4bKtx1|192.0.2.9:5060|INVITE");
    assert.equal(transactionKey(request("CANCEL")), "z9hG4bKtx1|192.0.2.9:5060|CANCEL");
    assert.equal(transactionKey(request("CANCEL"), "INVITE"), transactionKey(request("INVITE")));
    const otherSentBy = request("INVITE", { via: "SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKtx1" });
    assert.notEqual(transactionKey(otherSentBy), transactionKey(request("INVITE")));
  });

  test("transactionKey() falls back to RFC 2543 matching without the magic cookie", () => {
    const via = "SIP/2.0/UDP 192.0.2.9;branch=1234";
    const invite = transactionKey(request("INVITE", { via }));
    assert.equal(invite, "2543|sip:echo@192.0.2.1|f1||tx-1@example.com|1|UDP 192.0.2.9:;branch=1234|INVITE");
    assert.equal(transactionKey(request("ACK", { via, to: "<sip:echo@192.0.2.1>;tag=x" })), invite);
    // A bare magic cookie is not an RFC 3261 branch either.
    assert.ok(transactionKey(request("OPTIONS", { via: "SIP/2.0/UDP h;branch=z9hG4bK" })).startsWith("2543|"));
    assert.notEqual(
      transactionKey(request("BYE", { via, to: "<sip:e@h>;tag=1" })),
      transactionKey(request("BYE", { via, to: "<sip:e@h>;tag=2" })),
    );
  });

  test("isReliable() is false for UDP only", () => {
    assert.deepEqual((["udp", "tcp", "tls", "ws", "wss"] as Transport[]).map(isReliable), [
      false,
      true,
      true,
      true,
      true,
    ]);
  });
});

describe("ServerTransaction INVITE (RFC 3261 §17.2.1)", () => {
  test("a non-2xx final is resent with Timer G doubling up to T2 until Timer H", () => {
    const t = tx("INVITE");
    assert.equal(t.state, "Proceeding");
    const r = createResponse(t.request, 486, undefined, { toTag: "x" });
    assert.deepEqual(sent(t.respond(r, 1000)), [486]);
    assert.equal(t.state, "Completed");
    assert.equal(t.timer("H"), 1000 + 64 * 500);
    const times: number[] = [];
    for (let at = 1000; at <= 1000 + 64 * 500; at += 50) {
      for (const e of t.fire(at)) {
        if (e.kind === "send") times.push(at - 1000);
        else if (e.kind === "timeout") assert.equal(e.timer, "H");
      }
    }
    assert.deepEqual(times.slice(0, 7), [500, 1500, 3500, 7500, 11500, 15500, 19500]);
    assert.equal(times.at(-1), 31500);
    assert.equal(t.state, "Terminated");
  });

  test("an ACK moves Completed to Confirmed and Timer I (T4 on UDP) ends it", () => {
    const t = tx("INVITE");
    t.respond(createResponse(t.request, 603, undefined, { toTag: "x" }), 0);
    assert.equal(t.ack(700), true);
    assert.equal(t.state, "Confirmed");
    assert.equal(t.timer("G"), undefined);
    assert.equal(t.timer("H"), undefined);
    assert.equal(t.nextTimer(), 700 + 5000);
    assert.deepEqual(t.retransmission(), []);
    assert.deepEqual(t.fire(5699), []);
    assert.deepEqual(t.fire(5700), [{ kind: "terminated" }]);
  });

  test("over TCP a non-2xx is not resent and Timer I is 0", () => {
    const t = tx("INVITE", "tcp");
    t.respond(createResponse(t.request, 404, undefined, { toTag: "x" }), 0);
    assert.equal(t.timer("G"), undefined);
    assert.equal(t.nextTimer(), 32000);
    t.ack(10);
    assert.deepEqual(t.fire(10), [{ kind: "terminated" }]);
  });

  test("retransmit: false withholds Timer G", () => {
    const t = tx("INVITE", "udp", false);
    t.respond(createResponse(t.request, 500, undefined, { toTag: "x" }), 0);
    assert.equal(t.timer("G"), undefined);
    // A retransmitted request still gets the response again.
    assert.deepEqual(sent(t.retransmission()), [500]);
  });

  test("a retransmitted INVITE gets the last provisional, then the final", () => {
    const t = tx("INVITE");
    assert.deepEqual(t.retransmission(), []);
    t.respond(createResponse(t.request, 100), 0);
    t.respond(createResponse(t.request, 180, undefined, { toTag: "x" }), 0);
    assert.deepEqual(sent(t.retransmission()), [180]);
    t.respond(createResponse(t.request, 486, undefined, { toTag: "x" }), 0);
    assert.deepEqual(sent(t.retransmission()), [486]);
    // Nothing after the final.
    assert.deepEqual(t.respond(createResponse(t.request, 200, undefined, { toTag: "x" }), 0), []);
  });

  test("a 2xx moves to Accepted: resent from T1 doubling to T2 on any transport until the ACK, Timer L ends it", () => {
    const t = tx("INVITE", "tcp");
    t.respond(createResponse(t.request, 200, undefined, { toTag: "x" }), 0);
    assert.equal(t.state, "Accepted");
    assert.equal(t.timer("L"), 32000);
    assert.deepEqual(sent(t.fire(500)), [200]);
    assert.deepEqual(sent(t.fire(1500)), [200]);
    assert.equal(t.timer("G"), 3500);
    assert.deepEqual(sent(t.retransmission()), [200]);
    t.ack(2000);
    assert.equal(t.acked, true);
    assert.equal(t.timer("G"), undefined);
    assert.deepEqual(t.fire(32000), [{ kind: "terminated" }]);
  });

  test("an unacknowledged 2xx times out with Timer L", () => {
    const t = tx("INVITE");
    t.respond(createResponse(t.request, 200, undefined, { toTag: "x" }), 0);
    let count = 0;
    let last: TransactionEvent[] = [];
    for (let at = 0; at <= 32000; at += 100) {
      last = t.fire(at);
      count += sent(last).filter((s) => s === 200).length;
    }
    // 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500: 10 resends.
    assert.equal(count, 10);
    assert.deepEqual(last.slice(-2), [{ kind: "timeout", timer: "L" }, { kind: "terminated" }]);
  });
});

describe("ServerTransaction non-INVITE (RFC 3261 §17.2.2)", () => {
  test("Trying absorbs retransmissions; Proceeding resends the provisional; Completed the final; Timer J", () => {
    const t = tx("OPTIONS");
    assert.equal(t.state, "Trying");
    assert.deepEqual(t.retransmission(), []);
    t.respond(createResponse(t.request, 183, undefined, { toTag: "x" }), 0);
    assert.equal(t.state, "Proceeding");
    assert.deepEqual(sent(t.retransmission()), [183]);
    t.respond(createResponse(t.request, 200, undefined, { toTag: "x" }), 100);
    assert.equal(t.state, "Completed");
    assert.deepEqual(sent(t.retransmission()), [200]);
    assert.equal(t.nextTimer(), 100 + 32000);
    assert.equal(t.ack(0), false);
    assert.deepEqual(t.fire(32100), [{ kind: "terminated" }]);
    assert.equal(t.state, "Terminated");
  });

  test("Timer J is 0 on a reliable transport", () => {
    const t = tx("MESSAGE", "tls");
    t.respond(createResponse(t.request, 200, undefined, { toTag: "x" }), 5);
    assert.equal(t.nextTimer(), 5);
  });
});

describe("ServerTransaction without event lists", () => {
  test("ServerTransaction.accept() and resend() follow respond() and retransmission()", () => {
    const t = tx("INVITE");
    assert.equal(t.resend(), undefined);
    const ringing = createResponse(t.request, 180, undefined, { toTag: "x" });
    assert.equal(t.accept(ringing, 0), true);
    assert.equal(t.resend(), ringing);
    const ok = createResponse(t.request, 200, undefined, { toTag: "x" });
    assert.equal(t.accept(ok, 10), true);
    assert.equal(t.state, "Accepted");
    assert.equal(t.accept(createResponse(t.request, 486, undefined, { toTag: "x" }), 20), false);
    assert.equal(t.resend(), ok);
    assert.deepEqual([t.timer("G"), t.timer("L"), t.timer("H")], [510, 32010, undefined]);
  });

  test("ServerTransaction takes any response type with a status", () => {
    const t = new ServerTransaction<{ status: number; bytes: string }>({
      request: request("OPTIONS"),
      transport: "udp",
    });
    t.accept({ status: 200, bytes: "SIP/2.0 200 OK" }, 0);
    assert.deepEqual(t.retransmission(), [{ kind: "send", response: { status: 200, bytes: "SIP/2.0 200 OK" } }]);
  });
});

describe("TransactionTable", () => {
  test("TransactionTable.replace() swaps an entry in place, keeping its age", () => {
    const table = new TransactionTable<{ key: string; n: number }>(2);
    const a = { key: "a", n: 1 };
    table.add(a);
    table.add({ key: "b", n: 2 });
    assert.equal(table.replace(a, { key: "a", n: 3 }), true);
    assert.deepEqual(table.values().map((e) => e.n), [3, 2]);
    assert.equal(table.replace(a, { key: "a", n: 4 }), false, "a is no longer held");
    assert.equal(table.replace(table.get("b")!, { key: "c", n: 5 }), false, "another key");
    assert.equal(table.size, 2);
  });

  test("TransactionTable refuses to grow past its limit", () => {
    const table = new TransactionTable(1);
    const a = tx("OPTIONS");
    assert.equal(table.add(a), true);
    assert.equal(table.add(new ServerTransaction({ request: request("MESSAGE"), transport: "udp" })), false);
    assert.equal(table.get(a.key), a);
    table.delete(a);
    assert.equal(table.size, 0);
  });
});

describe("Dialog", () => {
  const init = {
    callId: "c1",
    localTag: "ours",
    remoteTag: "theirs",
    localUri: "sip:echo@h",
    remoteUri: "sip:alice@h",
    remoteSeq: 10,
    inviteKey: "k",
    sessionId: 5,
    createdAt: 0,
  };

  test("Dialog.checkSequence() refuses a CSeq lower than the remote one (RFC 3261 §12.2.2)", () => {
    const d = new Dialog(init);
    assert.equal(d.id, dialogId("c1", "ours", "theirs"));
    assert.equal(d.checkSequence(10), true);
    assert.equal(d.checkSequence(9), false);
    assert.equal(d.checkSequence(11), true);
    assert.equal(d.remoteSeq, 11);
  });

  test("Dialog reads its remote target from the Contact value only when asked", () => {
    const d = new Dialog({
      ...init,
      remoteContact: '"Bob, B." <sip:bob@192.0.2.4;transport=tcp>;expires=60, <sip:x@y>',
    });
    assert.equal(d.remoteTarget, "sip:bob@192.0.2.4;transport=tcp");
    d.remoteTarget = "sip:new@h";
    assert.equal(d.remoteTarget, "sip:new@h");
    assert.equal(new Dialog({ ...init, remoteContact: "*" }).remoteTarget, undefined);
    assert.equal(new Dialog({ ...init, remoteContact: "<bad" }).remoteTarget, undefined);
    assert.equal(new Dialog({ ...init, remoteTarget: "sip:a@h", remoteContact: "<sip:b@h>" }).remoteTarget, "sip:a@h");
  });

  test("DialogTable is bounded and delete() terminates the dialog", () => {
    const table = new DialogTable(1);
    const d = new Dialog(init);
    assert.equal(table.add(d), true);
    assert.equal(table.add(new Dialog({ ...init, callId: "c2" })), false);
    assert.equal(table.get("c1", "theirs", "ours"), undefined);
    assert.equal(table.get("c1", "ours", "theirs"), d);
    table.delete(d);
    assert.equal(d.state, "Terminated");
    assert.equal(table.size, 0);
  });
});
