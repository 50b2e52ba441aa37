import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DtmfDetector, dtmfKey, parseTelephoneEvent } from "../../src/media/telephone_event.ts";
import { parseDtmfInfo } from "../../src/media/dtmf_info.ts";
import { readRtpHeader } from "../../src/media/rtp_header.ts";
import { eventPacket, keyPress } from "./_dtmf.ts";

/** Feeds packets to a detector through readRtpHeader, as the media flows do. */
function feed(detector: DtmfDetector, packets: Uint8Array[]) {
  return packets.flatMap((p) => {
    const h = readRtpHeader(p)!;
    return detector.push(h, p.subarray(h.payloadOffset, h.payloadEnd));
  });
}

describe("telephone_event", () => {
  test("parseTelephoneEvent() reads event, E bit, volume and duration (RFC 4733 §2.3)", () => {
    assert.deepEqual(parseTelephoneEvent(Uint8Array.of(11, 0xca, 0x03, 0x20)), {
      event: 11,
      end: true,
      volume: 10, // the R bit (0x40) is ignored
      duration: 800,
    });
    assert.deepEqual(parseTelephoneEvent(Uint8Array.of(0, 0x3f, 0xff, 0xff)), {
      event: 0,
      end: false,
      volume: 63,
      duration: 65535,
    });
    assert.equal(parseTelephoneEvent(Uint8Array.of(1, 2, 3)), undefined);
  });

  test("dtmfKey() maps events 0-16 to keys (RFC 4733 §3.2) and nothing else", () => {
    assert.equal([...Array(17).keys()].map((e) => dtmfKey(e)).join(""), "0123456789*#ABCD!");
    assert.equal(dtmfKey(17), undefined);
    assert.equal(dtmfKey(-1), undefined);
    assert.equal(dtmfKey(1.5), undefined);
  });

  test("DtmfDetector gives one digit per key press despite repeated start and end packets (§2.5)", () => {
    const detector = new DtmfDetector(8000);
    const packets = [...keyPress(1, 1000, 1, 120), ...keyPress(11, 5000, 20, 200)];
    const digits = feed(detector, packets);
    assert.deepEqual(digits, [
      { digit: "1", duration: 120, volume: 10, ended: true, source: "rtp" },
      { digit: "#", duration: 200, volume: 10, ended: true, source: "rtp" },
    ]);
    assert.equal(detector.flush(), undefined);
  });

  test("DtmfDetector: the same key pressed twice is two digits (told by the timestamp)", () => {
    const detector = new DtmfDetector();
    assert.equal(feed(detector, [...keyPress(5, 0, 1), ...keyPress(5, 1600, 20)]).map((d) => d.digit).join(""), "55");
  });

  test("DtmfDetector: an event whose end packets are lost is reported when the next begins, or at flush()", () => {
    const detector = new DtmfDetector();
    const first = keyPress(2, 0, 1, 100).filter((p) => (p[13] & 0x80) === 0);
    assert.deepEqual(feed(detector, first), []);
    const second = keyPress(3, 1600, 20, 100).filter((p) => (p[13] & 0x80) === 0);
    assert.deepEqual(feed(detector, second).map((d) => [d.digit, d.ended, d.duration]), [["2", false, 50]]);
    assert.deepEqual(detector.flush(), { digit: "3", duration: 50, volume: 10, ended: false, source: "rtp" });
  });

  test("DtmfDetector: a late end packet of a reported event is not a new digit; codes over 16 are not digits", () => {
    const detector = new DtmfDetector();
    const press = keyPress(9, 800, 1);
    assert.equal(feed(detector, press).length, 1);
    assert.deepEqual(feed(detector, [press[press.length - 1]]), []);
    assert.deepEqual(feed(detector, keyPress(32, 3200, 30)), []);
  });

  test("DtmfDetector: durations in ms at the event's clock rate; a bad clock rate is a RangeError", () => {
    const detector = new DtmfDetector(16000);
    const [digit] = feed(detector, [eventPacket({ seq: 1, timestamp: 0, event: 4, duration: 1600, end: true })]);
    assert.equal(digit.duration, 100);
    assert.throws(() => new DtmfDetector(0), RangeError);
  });

  test("DtmfDetector: another SSRC with the same timestamp is another event", () => {
    const detector = new DtmfDetector();
    const a = eventPacket({ seq: 1, timestamp: 0, event: 1, duration: 800, end: true, ssrc: 1 });
    const b = eventPacket({ seq: 1, timestamp: 0, event: 2, duration: 800, end: true, ssrc: 2 });
    assert.equal(feed(detector, [a, b]).map((d) => d.digit).join(""), "12");
  });
});

describe("dtmf_info", () => {
  test("parseDtmfInfo() reads application/dtmf-relay Signal and Duration", () => {
    assert.deepEqual(parseDtmfInfo("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"), {
      digit: "5",
      duration: 160,
      volume: undefined,
      ended: true,
      source: "info",
    });
    assert.equal(parseDtmfInfo("Application/DTMF-Relay; charset=x", "signal= *\nduration=250")?.digit, "*");
    assert.equal(parseDtmfInfo("application/dtmf-relay", "Signal=11\r\n")?.digit, "#");
    assert.equal(parseDtmfInfo("application/dtmf-relay", "Signal=a\r\n")?.digit, "A");
    assert.equal(parseDtmfInfo("application/dtmf-relay", "Signal=5\r\nDuration=99999999\r\n")?.duration, 60000);
    assert.equal(parseDtmfInfo("application/dtmf-relay", "Duration=160\r\n"), undefined);
    assert.equal(parseDtmfInfo("application/dtmf-relay", "Signal=55\r\n"), undefined);
  });

  test("parseDtmfInfo() reads application/dtmf (the key or its event code) and refuses other types", () => {
    assert.equal(parseDtmfInfo("application/dtmf", "7\r\n")?.digit, "7");
    assert.equal(parseDtmfInfo("application/dtmf", "10")?.digit, "*");
    assert.equal(parseDtmfInfo("application/dtmf", "x"), undefined);
    assert.equal(parseDtmfInfo("text/plain", "Signal=5"), undefined);
  });
});

describe("rtp_header", () => {
  test("readRtpHeader() skips CSRCs and the header extension, drops padding (RFC 3550 §5.1, §5.3.1)", () => {
    // CC = 1, X = 1, P = 1: 12 + 4 (CSRC) + 4 + 4 (extension of one word) = 24; 2 bytes payload, 2 padding.
    const packet = Uint8Array.of(
      0xb1,
      0x65,
      0,
      9,
      0,
      0,
      1,
      0,
      0,
      0,
      0,
      5,
      0,
      0,
      0,
      1,
      0xbe,
      0xde,
      0,
      1,
      1,
      2,
      3,
      4,
      0xaa,
      0xbb,
      0,
      2,
    );
    assert.deepEqual(readRtpHeader(packet), {
      payloadType: 101,
      marker: false,
      sequence: 9,
      timestamp: 256,
      ssrc: 5,
      payloadOffset: 24,
      payloadEnd: 26,
    });
    assert.equal(readRtpHeader(packet.subarray(0, 18)), undefined, "the extension header does not fit");
    const v1 = packet.slice();
    v1[0] = 0x40;
    assert.equal(readRtpHeader(v1), undefined);
    const overPadded = Uint8Array.of(0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 20);
    assert.equal(readRtpHeader(overPadded), undefined);
  });
});
