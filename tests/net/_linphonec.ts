// linphonec (Debian linphone-cli 5.1) as a softphone for the interop tests, on loopback with no
// sound card: "soundcard use files" makes it send a WAV file as the microphone (`play`) and record
// what it receives to a WAV file (`record`, 48000 Hz here). It reads its commands on standard input
// and says what happens on standard output ("Call 1 ... connected.", "... is now paused.").
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { until } from "../_wait.ts";

/** Why the linphonec tests cannot run here, or false. */
export function linphonecMissing(): string | false {
  try {
    if (spawnSync("linphonec", ["-v"], { stdio: "ignore" }).error === undefined) return false;
  } catch {
    // not found
  }
  return "linphonec is not installed (Debian package linphone-cli; .ci/run installs it)";
}

/** What to write into linphonec's configuration. */
export interface LinphonecSetup {
  /** Its own directory: the configuration, and HOME (its call database goes there). */
  dir: string;
  /** Its TLS port (UDP and TCP are off). */
  tlsPort: number;
  /** Its RTP port. */
  rtpPort: number;
  /** The CA it checks the server's certificate with. */
  cafile: string;
}

/** A running linphonec: commands in, what it printed out. */
export class Linphonec {
  /** Standard output and error so far. */
  output = "";
  #child: ReturnType<typeof spawn>;
  #exited: Promise<void>;

  private constructor(setup: LinphonecSetup) {
    const home = join(setup.dir, "home");
    mkdirSync(join(home, ".local", "share", "linphone"), { recursive: true });
    const rc = join(setup.dir, "linphonerc");
    writeFileSync(rc, linphonerc(setup));
    this.#child = spawn("linphonec", ["-c", rc], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { PATH: "/usr/bin:/bin", HOME: home },
    });
    this.#child.stdout!.on("data", (d) => this.output += d);
    this.#child.stderr!.on("data", (d) => this.output += d);
    this.#child.stdin!.on("error", () => {});
    this.#exited = new Promise((resolve) => this.#child.on("close", () => resolve()));
  }

  /** Starts linphonec, waits for its prompt, and has it use files for sound. */
  static async start(setup: LinphonecSetup): Promise<Linphonec> {
    const l = new Linphonec(setup);
    try {
      await l.waitFor(/linphonec> /, 0, 15_000);
      await l.run("soundcard use files", /Using wav files/);
    } catch (e) {
      await l.stop();
      throw e;
    }
    return l;
  }

  /** Types a command line; with `until`, waits for that in what it prints next. */
  async run(line: string, reply?: RegExp, ms = 10_000): Promise<void> {
    const from = this.output.length;
    this.#child.stdin!.write(line + "\n");
    if (reply !== undefined) await this.waitFor(reply, from, ms);
  }

  /** Waits until what it printed after offset `from` matches `pattern`. */
  async waitFor(pattern: RegExp, from: number, ms = 10_000): Promise<void> {
    try {
      await until(() => pattern.test(this.output.slice(from)), `linphonec to print ${pattern}`, ms);
    } catch (e) {
      throw new Error(`${(e as Error).message}; it printed: ${this.output.slice(from).slice(-3000)}`);
    }
  }

  /** Ends linphonec ("quit"; SIGKILL after 5 s). */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.stdin!.write("quit\n");
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5000);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** linphonec's configuration: TLS only, the server's certificate checked against `cafile`. */
function linphonerc(s: LinphonecSetup): string {
  return [
    "[sip]",
    "sip_port=0",
    "sip_tcp_port=0",
    `sip_tls_port=${s.tlsPort}`,
    `root_ca=${s.cafile}`,
    "verify_server_certs=1",
    // With the name check on, its TLS library (mbedTLS 2) refuses 127.0.0.1 against the test
    // certificate (localhost, IP 127.0.0.1); the chain is still checked: against a CA list
    // without the test CA it fails the handshake ("unknown CA").
    "verify_server_cn=0",
    "register_only_when_network_is_up=0",
    "guess_hostname=0",
    "[rtp]",
    `audio_rtp_port=${s.rtpPort}`,
    // A fixed jitter buffer: the adaptive one stretches and drops audio as it adapts, which
    // would leave the recording out of step with what was sent.
    "audio_adaptive_jitt_comp_enabled=0",
    "[sound]",
    "echocancellation=0",
    "[video]",
    "automatically_initiate=0",
    "automatically_accept=0",
    "",
  ].join("\n");
}

/** A WAV file's 16-bit mono samples and rate, from its `fmt ` and `data` chunks (to the end of the file). */
export function readPcmWav(file: string): { rate: number; samples: Int16Array } {
  const bytes = readFileSync(file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let rate = 0;
  for (let at = 12; at + 8 <= bytes.length;) {
    const id = String.fromCharCode(...bytes.subarray(at, at + 4));
    const size = view.getUint32(at + 4, true);
    if (id === "fmt ") rate = view.getUint32(at + 12, true);
    if (id === "data") {
      const data = bytes.slice(at + 8, at + 8 + (Math.min(size, bytes.length - at - 8) & ~1));
      return { rate, samples: new Int16Array(data.buffer, data.byteOffset, data.length / 2) };
    }
    at += 8 + size + (size & 1);
  }
  throw new Error(`${file}: no data chunk`);
}

/** The samples in a WAV file being written (its size less a 44-byte header). */
export function samplesSoFar(file: string): number {
  try {
    return Math.max(0, (statSync(file).size - 44) >> 1);
  } catch {
    return 0;
  }
}
