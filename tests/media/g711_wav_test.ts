import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { alawDecode, alawEncode, mulawDecode, mulawEncode } from "../../src/media/g711.ts";
import { MAX_WAV_BYTES, parseWav, writeWav } from "../../src/media/wav.ts";
import { Announcement } from "../../src/media/announcement.ts";
import { readRtpHeader } from "../../src/media/rtp_header.ts";

/** A WAV header and data chunk of the given fmt fields. */
function wavOf(o: { code: number; channels?: number; rate?: number; bits: number; data: number[] }): Uint8Array {
  const bytes = new Uint8Array(44 + o.data.length);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode("RIFF"), 0);
  view.setUint32(4, 36 + o.data.length, true);
  bytes.set(new TextEncoder().encode("WAVEfmt "), 8);
  view.setUint32(16, 16, true);
  view.setUint16(20, o.code, true);
  view.setUint16(22, o.channels ?? 1, true);
  view.setUint32(24, o.rate ?? 8000, true);
  view.setUint16(34, o.bits, true);
  bytes.set(new TextEncoder().encode("data"), 36);
  view.setUint32(40, o.data.length, true);
  bytes.set(o.data, 44);
  return bytes;
}

describe("g711", () => {
  test("µ-law: ITU-T G.711 end points, and every code word but negative zero comes back", () => {
    assert.equal(mulawEncode(0), 0xff);
    assert.equal(mulawEncode(32767), 0x80);
    assert.equal(mulawEncode(-32768), 0x00);
    assert.equal(mulawDecode(0xff), 0);
    assert.equal(mulawDecode(0x7f), 0);
    for (let b = 0; b < 256; b++) if (b !== 0x7f) assert.equal(mulawEncode(mulawDecode(b)), b, `code ${b}`);
  });

  test("A-law: ITU-T G.711 end points (even bits inverted), and every code word comes back", () => {
    assert.equal(alawEncode(0), 0xd5);
    assert.equal(alawEncode(-1), 0x55);
    assert.equal(alawEncode(32767), 0xaa);
    assert.equal(alawEncode(-32768), 0x2a);
    for (let b = 0; b < 256; b++) assert.equal(alawEncode(alawDecode(b)), b, `code ${b}`);
  });

  test("the quantization error is bounded by the step of its segment", () => {
    for (let s = -32768; s < 32768; s += 7) {
      const u = mulawDecode(mulawEncode(s));
      const a = alawDecode(alawEncode(s));
      assert.ok(Math.abs(u - s) <= Math.max(4, Math.abs(s) / 16 + 132), `µ-law ${s} -> ${u}`);
      assert.ok(Math.abs(a - s) <= Math.max(8, Math.abs(s) / 16 + 16), `A-law ${s} -> ${a}`);
    }
  });
});

describe("wav", () => {
  test("writeWav() and parseWav() round-trip 16-bit PCM", () => {
    const samples = Int16Array.of(0, 1, -1, 32767, -32768);
    assert.deepEqual(parseWav(writeWav(samples)), { format: "pcm16", samples });
  });

  test("parseWav() decodes 8-bit µ-law (7) and A-law (6) files, skips other chunks", () => {
    assert.deepEqual([...parseWav(wavOf({ code: 7, bits: 8, data: [0xff, 0x80] })).samples], [0, 32124]);
    const alaw = parseWav(wavOf({ code: 6, bits: 8, data: [0xd5, 0x2a] }));
    assert.deepEqual([alaw.format, [...alaw.samples]], ["alaw", [8, -32256]]);
    // A LIST chunk of odd size (padded) before the data.
    const plain = writeWav(Int16Array.of(5));
    const list = Uint8Array.of(...new TextEncoder().encode("LIST"), 3, 0, 0, 0, 1, 2, 3, 0);
    const withList = new Uint8Array([...plain.subarray(0, 36), ...list, ...plain.subarray(36)]);
    assert.deepEqual([...parseWav(withList).samples], [5]);
  });

  test("parseWav() refuses what it cannot play, naming why", () => {
    assert.throws(() => parseWav(wavOf({ code: 1, bits: 16, channels: 2, data: [] })), /2 channels; wanted mono/);
    assert.throws(() => parseWav(wavOf({ code: 1, bits: 16, rate: 16000, data: [] })), /16000 Hz; wanted 8000/);
    assert.throws(() => parseWav(wavOf({ code: 1, bits: 8, data: [] })), /format 1 with 8 bits/);
    assert.throws(() => parseWav(wavOf({ code: 3, bits: 32, data: [] })), RangeError);
    assert.throws(() => parseWav(writeWav(new Int16Array(1)).subarray(0, 36)), /no "data" chunk/);
    assert.throws(() => parseWav(new Uint8Array(8)), SyntaxError);
    assert.throws(() => parseWav(new Uint8Array(MAX_WAV_BYTES + 1)), /more than 8388608/);
  });
});

describe("announcement", () => {
  test("Announcement: frames of ptime * 8 samples, sequence and timestamp wrap, marker on the first only", () => {
    const samples = Int16Array.from({ length: 1000 }, (_, i) => i * 16);
    const a = new Announcement(samples, {
      encoding: "PCMA",
      payloadType: 8,
      ptime: 40,
      ssrc: 0xdeadbeef,
      sequence: 65534,
      timestamp: 2 ** 32 - 320,
    });
    assert.equal(a.count, 4); // 320, 320, 320, 40 samples
    const headers = [0, 1, 2, 3].map((i) => readRtpHeader(a.packet(i))!);
    assert.deepEqual(headers.map((h) => [h.sequence, h.timestamp, h.marker, h.ssrc, h.payloadType]), [
      [65534, 2 ** 32 - 320, true, 0xdeadbeef, 8],
      [65535, 0, false, 0xdeadbeef, 8],
      [0, 320, false, 0xdeadbeef, 8],
      [1, 640, false, 0xdeadbeef, 8],
    ]);
    assert.equal(a.packet(3).length, 12 + 40);
    assert.equal(alawDecode(a.packet(1)[12]), alawDecode(alawEncode(320 * 16)));
    assert.throws(
      () =>
        new Announcement(samples, { encoding: "PCMU", payloadType: 0, ptime: 5, ssrc: 1, sequence: 0, timestamp: 0 }),
      RangeError,
    );
  });
});

describe("recording", async () => {
  const { Recording } = await import("../../src/media/recording.ts");
  test("Recording: by timestamp, one SSRC, nothing before the first packet, cut at maxSeconds", () => {
    const r = new Recording(1);
    const payload = (b: number) => new Uint8Array(160).fill(b);
    assert.equal(r.add({ timestamp: 2 ** 32 - 80, ssrc: 1 }, payload(0x80), "PCMU"), true);
    assert.equal(r.add({ timestamp: 2 ** 32 - 240, ssrc: 1 }, payload(0x80), "PCMU"), false, "before the first");
    assert.equal(r.add({ timestamp: 240, ssrc: 2 }, payload(0x80), "PCMU"), false, "another SSRC");
    assert.equal(r.add({ timestamp: 240, ssrc: 1 }, payload(0xd5), "PCMA"), true, "after a gap, across the wrap");
    assert.equal(r.add({ timestamp: 8000 - 80 - 100, ssrc: 1 }, payload(0xff), "PCMU"), true, "cut at the limit");
    assert.equal(r.add({ timestamp: 8000 - 80, ssrc: 1 }, payload(0xff), "PCMU"), false, "past the limit");
    const s = r.samples();
    assert.equal(s.length, 8000);
    assert.deepEqual([s[0], s[159], s[160], s[319], s[320], s[479]], [32124, 32124, 0, 0, 8, 8]);
    assert.equal(r.packets, 3);
    assert.throws(() => new Recording(3601), RangeError);
  });
});
