import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { _Reply } from "../../src/ua/context.ts";
import { _Tombstones } from "../../src/ua/tombstones.ts";
import { SourceGuard, type SourceRecord } from "../../src/ua/guard.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("_Tombstones: finished transactions in typed arrays", () => {
  test("keeps what a retransmission needs: state, expiry, To tag, duplicate, status, the bytes of a final not made again", () => {
    const t = new _Tombstones();
    const data = bytes("SIP/2.0 200 OK\r\n\r\n");
    assert.equal(t.add("a|h:|INVITE", "Accepted", 32000, "0badcafe", 1, undefined, undefined, false), true);
    assert.equal(
      t.add("b|h:|BYE", "Completed", 32010, undefined, 3, new _Reply(200, data, false), undefined, false),
      true,
    );
    assert.equal(
      t.add("c|h:|OPTIONS", "Completed", 32020, "x-1", 1, new _Reply(200, data, true), undefined, false),
      true,
    );
    assert.equal(t.add("a|h:|INVITE", "Accepted", 40000, undefined, 1, undefined, undefined, false), false, "held");
    const a = t.get("a|h:|INVITE")!;
    assert.deepEqual([a.key, a.state, a.invite, a.expires, a.toTag, a.status, a.data], [
      "a|h:|INVITE",
      "Accepted",
      true,
      32000,
      "0badcafe",
      0,
      undefined,
    ]);
    const b = t.get("b|h:|BYE")!;
    assert.deepEqual([b.state, b.invite, b.toTag, b.duplicate, b.status], ["Completed", false, undefined, 3, 200]);
    assert.deepEqual(b.data, data);
    assert.notEqual(b.data!.buffer, data.buffer, "a copy of the shared chunk");
    const c = t.get("c|h:|OPTIONS")!;
    assert.deepEqual([c.toTag, c.status, c.data], ["x-1", 200, undefined], "a plain final is made again");
    assert.equal(t.get("nothing"), undefined);
    assert.equal(t.size, 3);
  });

  test("expires in order of expiry, in each queue, whatever the order of burial", () => {
    const t = new _Tombstones();
    t.add("l1", "Completed", 500, undefined, 1, undefined, undefined, false);
    t.add("l2", "Accepted", 300, undefined, 1, undefined, undefined, false);
    t.add("l3", "Completed", 500, undefined, 1, undefined, undefined, false);
    t.add("s1", "Confirmed", 400, undefined, 1, undefined, undefined, true);
    t.add("s2", "Confirmed", 100, undefined, 1, undefined, undefined, true);
    const gone: string[] = [];
    while (t.nextExpiry >= 0) {
      const at = t.nextExpiry;
      const before = new Set(t.values().map((v) => v.key));
      assert.notEqual(t.expire(at), null);
      const after = new Set(t.values().map((v) => v.key));
      for (const k of before) if (!after.has(k)) gone.push(`${k}@${at}`);
    }
    assert.deepEqual(gone, ["s2@100", "l2@300", "s1@400", "l1@500", "l3@500"]);
    assert.equal(t.expire(600), null, "nothing left");
    assert.equal(t.size, 0);
  });

  test("values() lists them oldest first; a freed slot is used again", () => {
    const t = new _Tombstones();
    for (let i = 0; i < 3; i++) t.add(`k${i}`, "Completed", 100 + i, undefined, 1, undefined, undefined, false);
    t.expire(100);
    t.add("k3", "Completed", 103, undefined, 1, undefined, undefined, false);
    assert.deepEqual(t.values().map((v) => v.key), ["k1", "k2", "k3"]);
  });

  test("grows past its first arrays; clear() forgets everything", () => {
    const t = new _Tombstones();
    const n = 5000;
    for (let i = 0; i < n; i++) {
      const tag = (i * 7919).toString(16).padStart(8, "0");
      t.add(`z9hG4bK${i}|h:5060|INVITE`, "Accepted", 1000 + i, tag, 1, undefined, undefined, false);
    }
    assert.equal(t.size, n);
    assert.equal(t.get("z9hG4bK4321|h:5060|INVITE")?.toTag, (4321 * 7919).toString(16).padStart(8, "0"));
    assert.equal(t.nextExpiry, 1000);
    t.clear();
    assert.deepEqual([t.size, t.nextExpiry, t.get("z9hG4bK1|h:5060|INVITE")], [0, -1, undefined]);
  });

  test("finds every key after others expire around it; long and non-Latin-1 keys too", () => {
    const t = new _Tombstones();
    const long = "z9hG4bK" + "x".repeat(80) + "|h:5060|INVITE";
    const wide = "z9hG4bK-\u00e9\u4e2d|h:5060|BYE";
    const keys = [long, wide, ...Array.from({ length: 3000 }, (_, i) => `z9hG4bK${i}|192.0.2.${i % 7}:5060|BYE`)];
    // The even ones expire first, in order (the table's probe chains close up behind each).
    const expiry = (i: number) => i % 2 === 0 ? 1000 + i : 100_000 + i;
    keys.forEach((key, i) => t.add(key, "Completed", expiry(i), undefined, 1, undefined, undefined, false));
    for (let i = 0; i < keys.length; i += 2) assert.notEqual(t.expire(1000 + i), null);
    keys.forEach((key, i) => assert.equal(t.get(key)?.key, i % 2 === 0 ? undefined : key, key));
    assert.equal(t.size, keys.length / 2);
    assert.deepEqual(t.values().map((v) => v.key), keys.filter((_, i) => i % 2 === 1));
    assert.equal(t.get(wide.slice(0, -1) + "X"), undefined);
  });

  test("gives back the source each tombstone counted against, once", () => {
    const guard = new SourceGuard();
    const a: SourceRecord = guard.source("198.51.100.7", 0);
    const b: SourceRecord = guard.source("198.51.100.8", 0);
    const t = new _Tombstones();
    t.add("1", "Completed", 10, undefined, 1, undefined, a, false);
    t.add("2", "Completed", 20, undefined, 1, undefined, b, false);
    t.add("3", "Completed", 30, undefined, 1, undefined, a, false);
    t.add("4", "Completed", 40, undefined, 1, undefined, undefined, false);
    assert.equal(t.get("3")?.source, a);
    assert.deepEqual([t.expire(10), t.expire(20), t.expire(30), t.expire(40)], [a, b, a, undefined]);
  });
});
