// What the softphone interop tests share: the command line started as a child process on the
// running runtime with its JSON log, test tones, and the audio checks (Goertzel, correlation).
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { writeWav } from "../../src/media/wav.ts";
import { until } from "../_wait.ts";

/** The test certificate, its key and CA (tests/data/tls). */
export const TLS = new URL("../data/tls/", import.meta.url).pathname;

/** The command line (mod.ts) on this runtime with `flags`, its output collected; JSON lines parsed by `log()`. */
export class Cli {
  output = "";
  #child: ReturnType<typeof spawn>;
  #exited: Promise<void>;

  constructor(flags: string[]) {
    const mod = new URL("../../mod.ts", import.meta.url).pathname;
    const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
    const [cmd, ...pre] = deno !== undefined && !("Bun" in globalThis)
      ? [deno.execPath(), "run", "-A", mod]
      : [process.execPath, mod];
    this.#child = spawn(cmd, [...pre, ...flags], { stdio: ["ignore", "pipe", "pipe"] });
    this.#child.stdout!.on("data", (d) => this.output += d);
    this.#child.stderr!.on("data", (d) => this.output += d);
    this.#exited = new Promise((resolve) => this.#child.on("close", () => resolve()));
  }

  /** Waits for the startup line naming `port`. */
  async listening(port: number): Promise<void> {
    await until(
      () => this.output.includes(`:${port}`) || this.#child.exitCode !== null,
      "the command line to start",
      30_000,
    );
    if (this.#child.exitCode !== null) throw new Error(`the command line exited: ${this.output}`);
  }

  /** The JSON lines of `--log json` so far. */
  log(): Record<string, unknown>[] {
    return this.output.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGTERM");
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5000);
    await this.#exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Audio

/** `ms` of a tone of `hz` at 8000 Hz, amplitude `amplitude`. */
export function tone(hz: number, ms: number, amplitude = 8000): Int16Array {
  return Int16Array.from({ length: ms * 8 }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / 8000)));
}

/**
 * The share of the energy of `x` (sampled at `rate`) that is at `hz` (Goertzel over blocks of
 * `block` samples, 100 ms by default; 0..1: a pure tone gives about 1, silence 0), and the RMS level.
 */
export function toneShare(x: Int16Array, hz: number, rate = 8000, block = rate / 10): { share: number; rms: number } {
  let atTone = 0;
  let total = 0;
  for (let start = 0; start + block <= x.length; start += block) {
    const coeff = 2 * Math.cos((2 * Math.PI * hz) / rate);
    let s1 = 0;
    let s2 = 0;
    let energy = 0;
    for (let i = start; i < start + block; i++) {
      const s = x[i] + coeff * s1 - s2;
      s2 = s1;
      s1 = s;
      energy += x[i] * x[i];
    }
    const power = s1 * s1 + s2 * s2 - coeff * s1 * s2; // |X(hz)|²
    atTone += (2 * power) / block;
    total += energy;
  }
  return { share: total === 0 ? 0 : atTone / total, rms: Math.sqrt(total / Math.max(1, x.length)) };
}

/** The normalised cross-correlation of `a` and `b` over their first `length` samples (1: the same waveform, at some scale). */
function correlation(a: Int16Array, b: Int16Array, length: number): number {
  let dot = 0;
  let ea = 0;
  let eb = 0;
  for (let i = 0; i < length; i++) {
    dot += a[i] * b[i];
    ea += a[i] * a[i];
    eb += b[i] * b[i];
  }
  return ea === 0 || eb === 0 ? 0 : dot / Math.sqrt(ea * eb);
}

/**
 * Where `reference` starts in `x` (the lag at which its first `window` samples correlate best), how
 * many of its samples `x` holds from there, and their correlation with them.
 */
export function bestCorrelation(
  x: Int16Array,
  reference: Int16Array,
  window = 1600,
): { correlation: number; lag: number; length: number } {
  let lag = -1;
  let best = -1;
  for (let at = 0; at + window <= x.length; at++) {
    const c = correlation(x.subarray(at), reference, window);
    if (c > best) [best, lag] = [c, at];
  }
  if (lag < 0) return { correlation: 0, lag, length: 0 };
  const length = Math.min(reference.length, x.length - lag);
  return { correlation: correlation(x.subarray(lag), reference, length), lag, length };
}

/**
 * The tones of `x` (at 8000 Hz) in order: each 20 ms block is given the candidate frequency that
 * holds most of its energy (blocks that are quiet, or where none holds 60%, are gaps), and runs of
 * one frequency are merged; runs under 60 ms (a transition) are left out.
 */
export function toneRuns(x: Int16Array, candidates: number[]): { hz: number; ms: number }[] {
  const block = 160;
  const runs: { hz: number; ms: number }[] = [];
  let last = 0;
  for (let start = 0; start + block <= x.length; start += block) {
    const part = x.subarray(start, start + block);
    let hz = 0;
    for (const f of candidates) {
      const { share, rms } = toneShare(part, f, 8000, block);
      if (rms > 300 && share > 0.6) hz = f;
    }
    if (hz !== 0 && hz === last) runs[runs.length - 1].ms += 20;
    else if (hz !== 0) runs.push({ hz, ms: 20 });
    last = hz;
  }
  // Transitions left out, what they split is one run again.
  const merged: { hz: number; ms: number }[] = [];
  for (const r of runs) {
    if (r.ms < 60) continue;
    const previous = merged[merged.length - 1];
    if (previous?.hz === r.hz) previous.ms += r.ms;
    else merged.push({ ...r });
  }
  return merged;
}

/** The announcement: three tones, 400 ms each (700, 1200, 900 Hz), so that a shift or a wrong stream shows. */
export function announcement(): Int16Array {
  const parts = [tone(700, 400, 9000), tone(1200, 400, 6000), tone(900, 400, 12000)];
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

/**
 * The command line the phones call, started and listening: TLS on `base` with the test
 * certificate, user alice with password secret (the default challenge, MD5 alone), `announce@`
 * playing {@linkcode announcement} (written to `dir`), RTP on `base + 10` to `base + 29`, the
 * JSON log with `--trace`. `started` gets it before it listens, to be stopped if that fails.
 */
export async function startForPhones(dir: string, base: number, started: (cli: Cli) => void): Promise<Cli> {
  writeFileSync(join(dir, "announce.wav"), writeWav(announcement()));
  const rules = [{ match: { method: "INVITE", user: "announce" }, play: { file: join(dir, "announce.wav") } }];
  writeFileSync(join(dir, "rules.json"), JSON.stringify({ rules }));
  const cli = new Cli([
    ...["--tls", `127.0.0.1:${base}`, "--cert", join(TLS, "cert.pem"), "--key", join(TLS, "key.pem")],
    ...["--auth-user", "alice:secret", "--rules", join(dir, "rules.json")],
    ...["--rtp-ports", `${base + 10}-${base + 29}`, "--profile", "lab", "--log", "json", "--trace"],
  ]);
  started(cli);
  await cli.listening(base);
  return cli;
}
