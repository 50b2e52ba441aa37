// The DER writer (X.690) against encodings worked out by hand.
import { test } from "node:test";
import assert from "node:assert/strict";
import { _integer, _namedBits, _oid, _readTlv, _sequence, _time, _tlv } from "../../src/tls/der.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

test("lengths: short form below 128, long form in as few octets as it takes (X.690 §8.1.3, §10.1)", () => {
  assert.equal(hex(_tlv(4, new Uint8Array(127)).subarray(0, 2)), "047f");
  assert.equal(hex(_tlv(4, new Uint8Array(128)).subarray(0, 3)), "048180");
  assert.equal(hex(_tlv(4, new Uint8Array(255)).subarray(0, 3)), "0481ff");
  assert.equal(hex(_tlv(4, new Uint8Array(256)).subarray(0, 4)), "04820100");
  assert.equal(hex(_tlv(4, new Uint8Array(70000)).subarray(0, 5)), "0483011170");
});

test("INTEGER: minimal, positive (a zero octet before a set first bit)", () => {
  assert.equal(hex(_integer(0)), "020100");
  assert.equal(hex(_integer(127)), "02017f");
  assert.equal(hex(_integer(128)), "02020080");
  assert.equal(hex(_integer(256)), "02020100");
  assert.equal(hex(_integer(new Uint8Array([0, 0, 1]))), "020101");
  assert.equal(hex(_integer(new Uint8Array([0xff, 1]))), "020300ff01");
  assert.equal(hex(_integer(new Uint8Array([0, 0]))), "020100");
  assert.throws(() => _integer(-1), RangeError);
});

test("OBJECT IDENTIFIER: first two arcs joined, base-128 arcs", () => {
  assert.equal(hex(_oid("2.5.4.3")), "0603550403");
  assert.equal(hex(_oid("1.2.840.10045.2.1")), "06072a8648ce3d0201");
  assert.equal(hex(_oid("1.3.6.1.5.5.7.3.1")), "06082b06010505070301");
  assert.throws(() => _oid("3.1"), RangeError);
  assert.throws(() => _oid("1"), RangeError);
});

test("named bits: trailing zero bits dropped, their count in the first octet (X.690 §11.2.2)", () => {
  assert.equal(hex(_namedBits([0])), "03020780");
  assert.equal(hex(_namedBits([5, 6])), "03020106");
  assert.equal(hex(_namedBits([0, 8])), "0303078080");
  assert.equal(hex(_namedBits([])), "030100");
});

test("times: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5)", () => {
  const text = (b: Uint8Array) => new TextDecoder().decode(b.subarray(2));
  assert.equal(_time(new Date("2049-12-31T23:59:59Z"))[0], 0x17);
  assert.equal(text(_time(new Date("2049-12-31T23:59:59Z"))), "491231235959Z");
  assert.equal(_time(new Date("2050-01-01T00:00:00Z"))[0], 0x18);
  assert.equal(text(_time(new Date("2050-01-01T00:00:00Z"))), "20500101000000Z");
  assert.equal(text(_time(new Date("2001-02-03T04:05:06.999Z"))), "010203040506Z");
});

test("_readTlv reads back what _tlv wrote, and refuses a TLV that runs past the end", () => {
  const der = _sequence([_integer(5), _tlv(4, new Uint8Array(300))]);
  const outer = _readTlv(der, 0);
  assert.deepEqual([outer.tag, outer.end], [0x30, der.length]);
  const first = _readTlv(der, outer.start);
  const second = _readTlv(der, first.end);
  assert.deepEqual([first.tag, second.tag, second.end - second.start], [2, 4, 300]);
  assert.throws(() => _readTlv(der.subarray(0, 20), 0), /runs past the end/);
});
