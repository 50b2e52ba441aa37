// Interop with a second softphone nobody here wrote: linphonec (Debian linphone-cli 5.1) against
// the command line, run as a process on this runtime, over TLS on loopback with the server's
// certificate checked. linphonec registers with a password (401 with sipecho's default MD5 and
// SHA-256 challenges, then 200), calls echo@ with a 440 Hz tone as its microphone and records
// what it receives; pauses (hold) and resumes, and records the echo again after the resume; sends
// RFC 4733 DTMF; and records an announcement (its tones, in order). Skipped, saying why, without
// linphonec.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeWav } from "../../src/media/wav.ts";
import { freeBlock } from "../_ports.ts";
import { skipWhy } from "../_skip.ts";
import { until } from "../_wait.ts";
import { Linphonec, linphonecMissing, readPcmWav, samplesSoFar } from "./_linphonec.ts";
import { Cli, startForPhones, TLS, tone, toneRuns, toneShare } from "./_softphone.ts";

/** `x` at 48000 Hz taken down to 8000 Hz (every sixth sample: the content is all below 1.3 kHz). */
function to8k(x: Int16Array, rate: number): Int16Array {
  const step = rate / 8000;
  return Int16Array.from({ length: Math.floor(x.length / step) }, (_, i) => x[Math.round(i * step)]);
}

interface Lab {
  cli: Cli;
  phone: Linphonec;
  tlsPort: number;
  dir: string;
  calls: number;
}

describe("linphonec calls the command line over TLS", () => {
  const skip = skipWhy("linphonec interop", linphonecMissing());
  let lab: Promise<Lab> | undefined;
  /** What ready() started, to stop even when it failed halfway; and its directory. */
  const running: { stop(): Promise<void> }[] = [];
  let tmp: string | undefined;

  function ready(): Promise<Lab> {
    return lab ??= (async () => {
      const dir = tmp = mkdtempSync(join(tmpdir(), "sipecho-linphone-"));
      const base = await freeBlock(40);
      const tlsPort = base;
      writeFileSync(join(dir, "tone.wav"), writeWav(tone(440, 60_000)));
      const cli = await startForPhones(dir, base, (c) => running.push(c));
      const phone = await Linphonec.start({
        dir: join(dir, "linphone"),
        tlsPort: base + 2,
        rtpPort: base + 30,
        cafile: join(TLS, "ca.pem"),
      });
      running.push(phone);
      await phone.run(`play ${join(dir, "tone.wav")}`);
      await phone.run(`register sip:alice@127.0.0.1 sip:127.0.0.1:${tlsPort};transport=tls secret`);
      return { cli, phone, tlsPort, dir, calls: 0 };
    })();
  }

  after(async () => {
    for (const p of running.reverse()) await p.stop();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  /** Dials `user` with a fresh recording file; waits until the media is up. Returns the file. */
  async function dial(l: Lab, user: string): Promise<string> {
    const file = join(l.dir, `call${++l.calls}.wav`);
    await l.phone.run(`record ${file}`);
    await l.phone.run(`call sip:${user}@127.0.0.1:${l.tlsPort};transport=tls`, /Media streams established/);
    return file;
  }

  /** Waits until `file` holds `seconds` of audio more than `mark` samples (at 48000 Hz). */
  async function recorded(file: string, mark: number, seconds: number, what: string): Promise<void> {
    await until(() => samplesSoFar(file) >= mark + seconds * 48000, what, 10_000);
  }

  async function hangup(l: Lab): Promise<void> {
    await l.phone.run("terminate", /ended|No active call/);
  }

  function messages(l: Lab): { direction: string; method?: string; status?: number; cseq: string; text: string }[] {
    return l.cli.log().filter((e) => typeof e.text === "string") as never;
  }

  test("registers with a password over TLS (401, then 200); its call to echo@ comes back", {
    skip,
    timeout: 40_000,
  }, async () => {
    const l = await ready();
    await until(
      () => messages(l).some((m) => m.status === 200 && m.cseq.endsWith(" REGISTER")),
      "the 200 to linphonec's REGISTER",
      10_000,
    );
    const registers = messages(l).filter((m) => m.cseq.endsWith(" REGISTER"));
    assert.deepEqual(
      registers.slice(0, 4).map((m) => [m.direction, m.method ?? m.status, /^Authorization: Digest /im.test(m.text)]),
      [["in", "REGISTER", false], ["out", 401, false], ["in", "REGISTER", true], ["out", 200, false]],
    );
    const file = await dial(l, "echo");
    await recorded(file, 0, 2, "2 s of echoed audio at linphonec");
    await hangup(l);
    const { rate, samples } = readPcmWav(file);
    const { share, rms } = toneShare(samples.subarray(rate / 5), 440, rate);
    assert.ok(share > 0.8 && rms > 1000, `the 440 Hz tone in linphonec's recording: share ${share}, rms ${rms}`);
    assert.ok(l.cli.log().every((e) => e.transport === undefined || e.transport === "tls"), "everything over TLS");
  });

  test("pause (answered recvonly) and resume: echoed again after the resume", { skip, timeout: 40_000 }, async () => {
    const l = await ready();
    const file = await dial(l, "echo");
    await recorded(file, 0, 0.5, "echoed audio before the pause");
    await l.phone.run("pause", /is now paused/);
    const paused = messages(l).findLast((m) => m.method === "INVITE");
    await l.phone.run("resume", /Media streams established/);
    const mark = samplesSoFar(file);
    await recorded(file, mark, 1.5, "echoed audio after the resume");
    await hangup(l);
    const { rate, samples } = readPcmWav(file);
    const { share, rms } = toneShare(samples.subarray(mark + rate / 5), 440, rate);
    assert.ok(share > 0.8 && rms > 1000, `the tone after the resume: share ${share}, rms ${rms}`);

    // RFC 3264 §8.4: the answer to a sendonly offer is recvonly.
    assert.ok(paused?.text.includes("a=sendonly\r\n"), `linphonec's hold offer: ${paused?.text}`);
    const answer = messages(l).find((m) => m.direction === "out" && m.status === 200 && m.cseq === paused!.cseq);
    assert.match(answer?.text ?? "", /^a=recvonly\r$/m);
  });

  test("the RFC 4733 DTMF linphonec sends is logged, digit by digit", { skip, timeout: 40_000 }, async () => {
    const l = await ready();
    await dial(l, "echo");
    const digits = ["3", "9", "*", "#", "0"];
    const dtmf = () =>
      l.cli.log().filter((e) => e.event === "dtmf") as unknown as {
        dtmf: { digit: string; source: string; ended: boolean };
      }[];
    const before = dtmf().length;
    for (const [i, d] of digits.entries()) {
      await l.phone.run(d);
      await until(() => dtmf().length >= before + i + 1, `sipecho to log DTMF ${d}`, 5000);
    }
    await hangup(l);
    assert.deepEqual(
      dtmf().slice(before).map((e) => [e.dtmf.digit, e.dtmf.source, e.dtmf.ended]),
      digits.map((d) => [d, "rtp", true]),
    );
  });

  test("an announcement (rules `play`) reaches linphonec as the WAV file", { skip, timeout: 40_000 }, async () => {
    const l = await ready();
    // linphonec offers opus first; the answer to an announcement call lists G.711 alone (what is
    // played), so linphonec plays PCMU (it does not when the answer starts with opus).
    const from = l.phone.output.length;
    const file = await dial(l, "announce");
    await l.phone.waitFor(/ended/, from, 10_000); // sipecho's BYE after the file
    const { rate, samples } = readPcmWav(file);

    const audio = to8k(samples, rate);
    // Checked as its tones in order, not sample by sample: linphonec's jitter buffer may start
    // late or stretch, and what it holds when sipecho's BYE comes (up to 100 ms) is not recorded.
    const runs = toneRuns(audio, [440, 700, 900, 1200]);
    assert.deepEqual(runs.map((r) => r.hz), [700, 1200, 900], JSON.stringify(runs));
    assert.ok(runs[0].ms >= 200 && runs[1].ms >= 300 && runs[2].ms >= 200, JSON.stringify(runs));
  });
});
