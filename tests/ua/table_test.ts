// src/ua/table.ts: the one bounded table; TransactionTable and DialogTable are it, keyed.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BoundedTable } from "../../src/ua/table.ts";
import { TransactionTable } from "../../src/ua/transaction.ts";
import { Dialog, dialogId, DialogTable } from "../../src/ua/dialog.ts";

type Entry = { id: string; n: number };
const table = (limit: number) => new BoundedTable(limit, (e: Entry) => e.id);

describe("BoundedTable", () => {
  test("BoundedTable.add() refuses when full, even a value whose key is held", () => {
    const t = table(2);
    assert.equal(t.add({ id: "a", n: 1 }), true);
    assert.equal(t.add({ id: "a", n: 2 }), true, "replaced while there is room");
    assert.equal(t.size, 1);
    assert.equal(t.get("a")?.n, 2);
    assert.equal(t.add({ id: "b", n: 3 }), true);
    assert.equal(t.add({ id: "c", n: 4 }), false);
    assert.equal(t.add({ id: "a", n: 5 }), false);
    assert.deepEqual(t.values().map((e) => e.n), [2, 3]);
    assert.equal(t.limit, 2);
  });

  test("BoundedTable.replace() keeps the age and needs the held value and the same key", () => {
    const t = table(3);
    const a = { id: "a", n: 1 };
    t.add(a);
    t.add({ id: "b", n: 2 });
    assert.equal(t.replace(a, { id: "a", n: 3 }), true);
    assert.deepEqual(t.values().map((e) => e.n), [3, 2]);
    assert.equal(t.replace(a, { id: "a", n: 4 }), false, "a is no longer held");
    assert.equal(t.replace(t.get("b")!, { id: "c", n: 5 }), false, "another key");
  });

  test("BoundedTable.delete() removes only the value held; clear() removes all", () => {
    const t = table(3);
    const a = { id: "a", n: 1 };
    t.add(a);
    assert.equal(t.delete({ id: "a", n: 1 }), false, "an equal value is not the one held");
    assert.equal(t.delete(a), true);
    assert.equal(t.delete(a), false);
    t.add({ id: "x", n: 0 });
    t.clear();
    assert.equal(t.size, 0);
  });
});

describe("TransactionTable and DialogTable", () => {
  test("TransactionTable is a BoundedTable keyed by the transaction key", () => {
    const t = new TransactionTable<{ key: string }>(1);
    assert.ok(t instanceof BoundedTable);
    const a = { key: "k1" };
    assert.equal(t.add(a), true);
    assert.equal(t.get("k1"), a);
    assert.equal(t.add({ key: "k1" }), false, "full: refused even under a held key");
  });

  test("DialogTable finds a dialog by id or by Call-ID and tags, and takes one made again when full", () => {
    const init = {
      localUri: "sip:b@h",
      remoteUri: "sip:a@h",
      remoteSeq: 1,
      inviteKey: "k",
      sessionId: 1,
      createdAt: 0,
    };
    const t = new DialogTable(1);
    const d = new Dialog({ ...init, callId: "c1", localTag: "b", remoteTag: "a" });
    assert.equal(t.add(d), true);
    assert.equal(t.get("c1", "b", "a"), d);
    assert.equal(t.get(dialogId("c1", "b", "a")), d);
    const again = new Dialog({ ...init, callId: "c1", localTag: "b", remoteTag: "a" });
    assert.equal(t.add(again), true, "the same id needs no more room");
    assert.equal(t.get("c1", "b", "a"), again);
    assert.equal(t.delete(d), false, "no longer held");
    assert.equal(d.state, "Terminated");
    assert.equal(t.delete(again), true);
    assert.equal(t.size, 0);
  });
});
