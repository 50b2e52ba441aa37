// NonceCountWindow: the bounded table of the highest nc seen per nonce (RFC 7616 §3.4), with
// its floor for evicted nonces.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_MAX_NONCES, NonceCountWindow } from "../../src/auth/nc_window.ts";

describe("NonceCountWindow", () => {
  test("accept() takes a rising nc and refuses one equal to or below the highest seen", () => {
    const window = new NonceCountWindow();
    assert.equal(window.limit, DEFAULT_MAX_NONCES);
    assert.equal(window.accept("n", 10, 1), "ok");
    assert.equal(window.accept("n", 10, 1), "replay");
    assert.equal(window.accept("n", 10, 3), "ok", "a gap is allowed: requests may be lost");
    assert.equal(window.accept("n", 10, 2), "replay", "an nc below the highest is refused");
    assert.equal(window.accept("m", 10, 1), "ok", "counts are per nonce");
  });

  test("accept() lets a response without qop (nc 0) use a nonce once", () => {
    const window = new NonceCountWindow();
    assert.equal(window.accept("n", 10, 0), "ok");
    assert.equal(window.accept("n", 10, 0), "replay");
  });

  test("the window never holds more than its limit, evicting the least recently used nonce", () => {
    const window = new NonceCountWindow(3);
    window.accept("a", 1, 1);
    window.accept("b", 2, 1);
    window.accept("c", 3, 1);
    window.accept("a", 1, 2); // a is now the most recently used
    window.accept("d", 4, 1); // evicts b
    assert.equal(window.size, 3);
    assert.equal(window.floor, 2);
    assert.equal(window.accept("a", 1, 2), "replay", "a is still known");
    assert.equal(window.accept("c", 3, 1), "replay", "c is still known");
    assert.equal(window.accept("b", 2, 2), "forgotten", "b's counts are gone");
    for (let i = 0; i < 1000; i++) window.accept(`x${i}`, 10 + i, 1);
    assert.equal(window.size, 3);
  });

  test("a nonce it never saw, issued at or before the floor, is forgotten; one issued after it is new", () => {
    const window = new NonceCountWindow(1);
    window.accept("a", 100, 1);
    window.accept("b", 50, 1); // evicts a: the floor is 100, the latest evicted issue time
    assert.equal(window.floor, 100);
    assert.equal(window.accept("c", 60, 5), "forgotten", "never seen, but issued before the floor");
    assert.equal(window.accept("a", 100, 9), "forgotten", "an evicted nonce can never be replayed");
    assert.equal(window.accept("e", 101, 1), "ok");
  });

  test("the floor only rises", () => {
    const window = new NonceCountWindow(1);
    window.accept("a", 100, 1);
    window.accept("b", 50, 1); // floor 100
    window.accept("c", 200, 1); // evicts b (50): the floor stays 100
    assert.equal(window.floor, 100);
  });

  test("new NonceCountWindow() refuses a limit that is not a positive integer", () => {
    for (const limit of [0, -1, 1.5, NaN]) {
      assert.throws(() => new NonceCountWindow(limit), {
        name: "RangeError",
        message: `NonceCountWindow: limit ${limit} is not a positive integer`,
      });
    }
  });
});
