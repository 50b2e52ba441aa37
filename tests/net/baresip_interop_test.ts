// Interop with a softphone nobody here wrote: baresip 1.0.0 (Debian baresip-core) against the
// command line, run as a process on this runtime, over TLS on loopback. baresip registers with a
// password (401, then 200), calls echo@ with a 440 Hz tone as its microphone and records what it
// receives; holds and resumes; sends RFC 4733 DTMF; and records an announcement. The audio is
// checked by its content (tone energy, correlation), not byte for byte: G.711 is lossy. Skipped,
// saying why, without baresip or its modules. See _baresip.ts for how baresip is driven.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeWav } from "../../src/media/wav.ts";
import { freeBlock } from "../_ports.ts";
import { skipWhy } from "../_skip.ts";
import { sleep, until } from "../_wait.ts";
import { mulawDecode } from "../../src/media/g711.ts";
import { readRtpHeader } from "../../src/media/rtp_header.ts";
import { Capture, captureMissing } from "./_capture.ts";
import { Baresip, baresipMissing } from "./_baresip.ts";
import { announcement, bestCorrelation, Cli, startForPhones, TLS, tone, toneShare } from "./_softphone.ts";

const RATE = 8000;

interface Lab {
  cli: Cli;
  phone: Baresip;
  tlsPort: number;
  dir: string;
  /** The RTP port ranges of the echo and of baresip. */
  ports: { echo: [number, number]; phone: [number, number] };
}

describe("baresip calls the command line over TLS", () => {
  const skip = skipWhy("baresip interop", baresipMissing());
  const captureSkip = skip === false && skipWhy("baresip hold and resume", captureMissing());
  let lab: Promise<Lab> | undefined;
  /** What ready() started, to stop even when it failed halfway; and its directory. */
  const running: { stop(): Promise<void> }[] = [];
  let tmp: string | undefined;

  /** The command line and baresip, started once for the tests of this file. */
  function ready(): Promise<Lab> {
    return lab ??= (async () => {
      const dir = tmp = mkdtempSync(join(tmpdir(), "sipecho-baresip-"));
      const base = await freeBlock(50);
      const tlsPort = base;
      // 30 s of tone: aufile ends the call when its file ends.
      writeFileSync(join(dir, "tone.wav"), writeWav(tone(440, 30_000)));
      // baresip 1.0.0 (libre 1.1.0) gives up on a 401 that offers any algorithm but MD5 ("Register:
      // Function not implemented") instead of taking the challenge it knows (RFC 8760 §2.4): the
      // default, one MD5 challenge, is what it needs.
      const cli = await startForPhones(dir, base, (c) => running.push(c));
      const phone = await Baresip.start({
        dir: join(dir, "baresip"),
        sipPort: base + 2,
        ctrlPort: base + 4,
        rtpPorts: [base + 30, base + 49],
        source: join(dir, "tone.wav"),
        cafile: join(TLS, "ca.pem"),
        account: `<sip:alice@127.0.0.1;transport=tls>;auth_pass=secret;` +
          `outbound="sip:127.0.0.1:${tlsPort};transport=tls";regint=600`,
      });
      running.push(phone);
      return { cli, phone, tlsPort, dir, ports: { echo: [base + 10, base + 29], phone: [base + 30, base + 49] } };
    })();
  }

  after(async () => {
    for (const p of running.reverse()) await p.stop();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  /** Dials `user`, waits until the call is up; returns the index of its events. */
  async function dial(l: Lab, user: string): Promise<number> {
    l.phone.clearRecordings();
    const from = l.phone.events.length;
    // baresip adds the account's ";transport=tls" itself.
    await l.phone.command("dial", `sip:${user}@127.0.0.1:${l.tlsPort}`);
    await l.phone.event("CALL_ESTABLISHED", from);
    return from;
  }

  /** Hangs up and returns the received audio. */
  async function hangup(l: Lab): Promise<Int16Array> {
    const from = l.phone.events.length;
    await l.phone.command("hangup");
    await l.phone.event("CALL_CLOSED", from);
    return await l.phone.decodedWav();
  }

  /** Waits until the recording holds `samples` more than `mark`. */
  async function received(l: Lab, mark: number, samples: number, what: string): Promise<void> {
    await until(() => l.phone.decodedSamples() >= mark + samples, what, 10_000);
  }

  /** The SIP messages of `--log json` (`--trace`: with their text). */
  function messages(l: Lab): { direction: string; method?: string; status?: number; cseq: string; text: string }[] {
    return l.cli.log().filter((e) => typeof e.text === "string") as never;
  }

  test("registers with a password over TLS (401, then 200); its call to echo@ comes back", {
    skip,
    timeout: 40_000,
  }, async () => {
    const l = await ready();
    // baresip registers as it starts, before the control connection: its REGISTER_OK may come first.
    await until(
      () => messages(l).some((m) => m.status === 200 && m.cseq.endsWith(" REGISTER")),
      "the 200 to baresip's REGISTER",
      10_000,
    );
    const registers = messages(l).filter((m) => m.cseq.endsWith(" REGISTER"));
    assert.deepEqual(
      registers.slice(0, 4).map((m) => [m.direction, m.method ?? m.status, /^Authorization: Digest /im.test(m.text)]),
      [["in", "REGISTER", false], ["out", 401, false], ["in", "REGISTER", true], ["out", 200, false]],
      l.cli.output,
    );
    assert.ok(
      l.cli.log().some((e) => e.event === "auth" && e.reason === "ok" && e.user === "alice"),
      "sipecho logged alice authenticated",
    );

    await dial(l, "echo");
    await received(l, 0, 2 * RATE, "2 s of echoed audio at baresip");
    const audio = await hangup(l);
    // The first 200 ms may hold the jitter buffer's start.
    const { share, rms } = toneShare(audio.subarray(RATE / 5), 440);
    assert.ok(share > 0.8 && rms > 1000, `the 440 Hz tone in baresip's recording: share ${share}, rms ${rms}`);
    // The INVITE is challenged too, and answered with the same password.
    assert.deepEqual(
      l.cli.log().filter((e) => e.event === "auth" && String(e.message).startsWith("INVITE ")).map((e) => e.reason),
      ["missing", "ok"],
    );
    assert.ok(l.cli.log().every((e) => e.transport === undefined || e.transport === "tls"), "everything over TLS");
  });

  test("hold (answered recvonly) and resume (sendrecv): echoed again after the resume", {
    skip: skip || captureSkip,
    timeout: 40_000,
  }, async () => {
    const l = await ready();
    // What comes back is read from a capture: baresip 1.0.0 drops its receive filters (sndfile's
    // recorder too) on the hold and does not set them up again (src/audio.c: audio_decoder_set
    // flushes rx->filtl when the stream is not sendrecv; aufilt_setup then returns at once, as the
    // send side's filters are still there), so its recording ends at the hold.
    const capture = await Capture.start(
      join(l.dir, "hold.pcap"),
      `udp and src portrange ${l.ports.echo[0]}-${l.ports.echo[1]} and dst portrange ${l.ports.phone[0]}-${
        l.ports.phone[1]
      }`,
    );
    try {
      await dial(l, "echo");
      await received(l, 0, RATE / 2, "echoed audio before the hold");
      let from = l.phone.events.length;
      await l.phone.command("hold");
      await l.phone.event("CALL_REMOTE_SDP", from);
      await sleep(1000); // on hold for a second
      from = l.phone.events.length;
      await l.phone.command("resume");
      await l.phone.event("CALL_REMOTE_SDP", from);
      // From 100 ms after the resume's answer reached baresip.
      const resumed = Date.now() + 100;
      const echoed = () =>
        capture.datagrams().filter((d) => d.time > resumed).map((d) => readRtpHeader(d.payload)).filter((h) =>
          h !== undefined && h.payloadType === 0
        );
      await until(() => echoed().length >= 75, "1.5 s of PCMU echoed after the resume", 10_000);
      await hangup(l);
      const packets = capture.datagrams().filter((d) => d.time > resumed);
      const samples = Int16Array.from(
        packets.flatMap((d) => {
          const h = readRtpHeader(d.payload);
          return h === undefined || h.payloadType !== 0
            ? []
            : [...d.payload.subarray(h.payloadOffset, h.payloadEnd)].map(mulawDecode);
        }),
      );
      const { share, rms } = toneShare(samples, 440);
      assert.ok(samples.length >= 1.5 * RATE, `${samples.length} samples echoed after the resume`);
      assert.ok(share > 0.8 && rms > 1000, `the tone echoed after the resume: share ${share}, rms ${rms}`);
    } finally {
      await capture.stop();
    }

    // RFC 3264 §8.4: the answer to a sendonly offer is recvonly; to sendrecv, sendrecv.
    const sip = messages(l);
    const answerTo = (direction: string) => {
      const offer = sip.findLast((m) => m.method === "INVITE" && m.text.includes(`a=${direction}\r\n`));
      assert.ok(offer, `baresip's re-INVITE with a=${direction}`);
      const answer = sip.find((m) => m.status === 200 && m.cseq === offer.cseq && m.direction === "out");
      assert.ok(answer, `the 200 to ${offer.cseq}`);
      return /^a=(sendrecv|sendonly|recvonly|inactive)\r?$/m.exec(answer.text)?.[1];
    };
    assert.equal(answerTo("sendonly"), "recvonly");
    assert.equal(answerTo("sendrecv"), "sendrecv");
  });

  test("the RFC 4733 DTMF baresip sends is logged, digit by digit", { skip, timeout: 40_000 }, async () => {
    const l = await ready();
    await dial(l, "echo");
    const digits = ["1", "5", "#", "*", "0"];
    const dtmf = () =>
      l.cli.log().filter((e) => e.event === "dtmf") as unknown as {
        dtmf: { digit: string; source: string; ended: boolean };
      }[];
    const before = dtmf().length;
    for (const [i, d] of digits.entries()) {
      await l.phone.command("sndcode", d);
      await until(() => dtmf().length >= before + i + 1, `sipecho to log DTMF ${d}`, 5000);
    }
    await hangup(l);
    assert.deepEqual(
      dtmf().slice(before).map((e) => [e.dtmf.digit, e.dtmf.source, e.dtmf.ended]),
      digits.map((d) => [d, "rtp", true]),
    );
  });

  test("an announcement (rules `play`) reaches baresip as the WAV file", { skip, timeout: 40_000 }, async () => {
    const l = await ready();
    const from = await dial(l, "announce");
    // sipecho hangs up when the file is played (`then: "hangup"`, the default).
    await l.phone.event("CALL_CLOSED", from, 10_000);
    const audio = await l.phone.decodedWav();
    const reference = announcement();
    const { correlation, lag, length } = bestCorrelation(audio, reference);
    assert.ok(correlation > 0.95, `correlation ${correlation} at ${lag} of ${audio.length} samples`);
    // The call ends with sipecho's BYE: what is still in baresip's jitter buffer then (at most 10
    // frames of 20 ms, jitter_buffer_delay) is not recorded.
    assert.ok(length >= reference.length - 10 * 160, `${length} of the ${reference.length} samples recorded`);
    assert.ok(toneShare(audio, 440).share < 0.05, "baresip's own tone is not echoed during the announcement");
    assert.ok(l.cli.log().some((e) => e.event === "play"), "sipecho logged the announcement");
  });
});
