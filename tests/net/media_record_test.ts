// Recording end to end on loopback UDP: serve({ media: { record } }) writes the RTP a call
// received (PCMU here, one packet lost, one reordered) to <dir>/<Call-ID>.wav when it ends.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeBlock } from "../_ports.ts";
import { serve } from "../../src/net/serve.ts";
import { mulawDecode, mulawEncode } from "../../src/media/g711.ts";
import { parseWav } from "../../src/media/wav.ts";
import type { PeerEvent } from "../../src/ua/peer.ts";
import { until, within } from "../_wait.ts";
import { HOST, Phone } from "./_media_phone.ts";

const BASE = await freeBlock(10);

/** A PCMU packet of 160 samples, sample k being `value(seq * 160 + k)`. */
function pcmu(seq: number, value: (n: number) => number): Uint8Array {
  const packet = new Uint8Array(172);
  const view = new DataView(packet.buffer);
  packet[0] = 0x80;
  view.setUint16(2, seq);
  view.setUint32(4, 5000 + seq * 160);
  view.setUint32(8, 0x5151);
  for (let k = 0; k < 160; k++) packet[12 + k] = mulawEncode(value(seq * 160 + k));
  return packet;
}

describe("serve({ media: { record } })", () => {
  test("a call's received PCMU is written as 16-bit WAV by its timestamps when it ends", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sipecho-record-"));
    const events: PeerEvent[] = [];
    const server = await serve({
      listen: [{ transport: "udp", hostname: HOST, port: 0 }],
      media: { portRange: [BASE, BASE + 9], record: { dir, maxSeconds: 1 } },
      onEvent: (e) => void events.push(e),
      edge: "lab",
    });
    const phone = await Phone.open(server);
    try {
      const value = (n: number) => ((n * 37) % 2000) - 1000;
      const call = await phone.call("rec*1");
      await phone.ack("rec*1", call.toTag);
      // Packets 0, 1, 3, 2 (reordered), 5 (4 is lost); then 60 more, past the 1 s limit.
      for (const seq of [0, 1, 3, 2, 5]) await phone.rtp.send(pcmu(seq, value), call.port);
      for (let seq = 6; seq < 66; seq++) await phone.rtp.send(pcmu(seq, value), call.port);
      for (let i = 0; i < 65; i++) await phone.rtp.next(`echo ${i}`, (d) => d.from.port === call.port);
      await phone.bye("rec*1", call.toTag);
      await until(() => events.some((e) => e.kind === "record"), "the record event");
      const file = join(dir, "rec_1.wav");
      assert.match(
        events.find((e) => e.kind === "record")!.message,
        /recorded 1\.0 s \(\d+ packets\) to .*rec_1\.wav$/,
      );
      const wav = parseWav(new Uint8Array(readFileSync(file)));
      assert.equal(wav.samples.length, 8000, "cut at maxSeconds");
      for (let n = 0; n < 8000; n++) {
        const lost = n >= 4 * 160 && n < 5 * 160;
        assert.equal(wav.samples[n], lost ? 0 : mulawDecode(mulawEncode(value(n))), `sample ${n}`);
      }
    } finally {
      phone.close();
      await within(server.close(), "server.close()");
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a call with no RTP writes nothing; a bad maxSeconds is a RangeError at serve()", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sipecho-record-"));
    const server = await serve({
      listen: [{ transport: "udp", hostname: HOST, port: 0 }],
      media: { portRange: [BASE, BASE + 9], record: { dir } },
      edge: "lab",
    });
    const phone = await Phone.open(server);
    try {
      const call = await phone.call("rec-2");
      await phone.ack("rec-2", call.toTag);
      await phone.bye("rec-2", call.toTag);
    } finally {
      phone.close();
      await within(server.close(), "server.close()");
    }
    assert.equal(existsSync(join(dir, "rec-2.wav")), false);
    rmSync(dir, { recursive: true, force: true });
    await assert.rejects(
      serve({ listen: [{ transport: "udp", hostname: HOST, port: 0 }], media: { record: { dir, maxSeconds: 0 } } }),
      RangeError,
    );
  });
});
