import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { _PortPool } from "../../src/media/port_pool.ts";

describe("_PortPool", () => {
  test("the range holds the even ports with their odd neighbour (RFC 3550 §11)", () => {
    const pool = new _PortPool<string>([20001, 20006], 4, () => {});
    assert.equal(pool.capacity, 2);
    assert.deepEqual([pool.take(), pool.take(), pool.take()], [20002, 20004, undefined]);
    assert.equal(pool.available, 0);
  });

  test("take() gives the pair released longest ago", () => {
    const pool = new _PortPool<string>([20000, 20005], 4, () => {});
    const [a, b, c] = [pool.take()!, pool.take()!, pool.take()!];
    pool.release(b);
    pool.release(a);
    pool.release(c);
    assert.deepEqual([pool.take(), pool.take(), pool.take()], [b, a, c]);
  });

  test("a pair released bound is taken first, with its sockets, and only once", () => {
    const closed: string[] = [];
    const pool = new _PortPool<string>([20000, 20005], 4, (pair) => void closed.push(pair));
    const [a, b] = [pool.take()!, pool.take()!];
    pool.release(a);
    pool.release(b, "sockets of b");
    assert.equal(pool.available, 3);
    assert.equal(pool.take(), b);
    assert.equal(pool.takeBound(b), "sockets of b");
    assert.equal(pool.takeBound(b), undefined);
    assert.equal(pool.take(), 20004, "then the pair never used");
    assert.equal(pool.take(), a);
    assert.deepEqual(closed, []);
    pool.closeBound();
  });

  test("hasRoom counts the bound pairs; closeBound() closes them and keeps their ports free", () => {
    const closed: string[] = [];
    const pool = new _PortPool<string>([20000, 20005], 2, (pair) => void closed.push(pair));
    const ports = [pool.take()!, pool.take()!, pool.take()!];
    assert.equal(pool.hasRoom, true);
    pool.release(ports[0], "first");
    pool.release(ports[1], "second");
    assert.equal(pool.hasRoom, false);
    pool.release(ports[2]);
    pool.closeBound();
    assert.deepEqual(closed, ["first", "second"]);
    assert.equal(pool.hasRoom, true);
    assert.equal(pool.available, 3);
    assert.equal(pool.takeBound(ports[0]), undefined);
  });
});
