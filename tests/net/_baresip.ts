// baresip (Debian baresip-core 1.0.0) as a softphone for the interop tests, on loopback with no
// sound card: a config directory written here (the `aufile` module sends a WAV as the microphone,
// `sndfile` records the decoded received audio to DIR/dump-<time>-dec.wav, ALSA's `null` device
// plays), controlled through the `ctrl_tcp` module (netstring-framed JSON commands; its events,
// such as CALL_ESTABLISHED, come on the same connection).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { parseWav } from "../../src/media/wav.ts";
import { sleep, until, within } from "../_wait.ts";

const MODULES = "/usr/lib/baresip/modules";
/** The baresip modules the tests load. */
const NEEDED = ["account", "aufile", "sndfile", "ctrl_tcp", "menu", "g711", "alsa"];

/** Why the baresip tests cannot run here, or false. */
export function baresipMissing(): string | false {
  let found = false;
  try {
    found = spawnSync("baresip", ["-h"], { stdio: "ignore" }).error === undefined;
  } catch {
    found = false;
  }
  if (!found) return "baresip is not installed (Debian package baresip-core; .ci/run installs it)";
  const missing = NEEDED.filter((m) => !existsSync(`${MODULES}/${m}.so`));
  if (missing.length > 0) return `baresip modules missing from ${MODULES}: ${missing.join(", ")}`;
  return false;
}

/** A ctrl_tcp event: `type` (CALL_ESTABLISHED, CALL_CLOSED, REGISTER_OK...), `param`, `id`. */
export interface BaresipEvent {
  type: string;
  param?: string;
  id?: string;
  [key: string]: unknown;
}

/** What to write into baresip's config and accounts files. */
export interface BaresipSetup {
  /** The private config directory (made here). */
  dir: string;
  /** SIP port: UDP and TCP there, TLS on the port above (baresip's own rule). */
  sipPort: number;
  /** ctrl_tcp's port. */
  ctrlPort: number;
  /** RTP port range, `[low, high]`. */
  rtpPorts: [number, number];
  /** The WAV (8000 Hz, mono, 16-bit) sent as the microphone. */
  source: string;
  /** The accounts file's line (`<sip:alice@host;transport=tls>;auth_pass=...`). */
  account: string;
  /**
   * `sip_cafile`: the CA that signed the server's certificate. baresip 1.0.0 loads it but has no
   * setting to check the server's certificate with it (`sip_verify_server` came later): it
   * registers as well with a CA list that lacks the test CA.
   */
  cafile?: string;
}

/** A running baresip: its control connection, the events seen, its output. */
export class Baresip {
  /** Every ctrl_tcp event so far, in order. */
  readonly events: BaresipEvent[] = [];
  /** Standard output and error, for the failure messages. */
  output = "";
  /** Where sndfile writes its recordings. */
  readonly recordings: string;
  #socket?: net.Socket;
  #buffer = new Uint8Array(0);
  #responses: { ok: boolean; data: string; token?: string }[] = [];
  #token = 0;
  #child: ReturnType<typeof spawn>;
  #exited: Promise<void>;

  private constructor(setup: BaresipSetup) {
    this.recordings = join(setup.dir, "recordings");
    mkdirSync(this.recordings, { recursive: true });
    writeFileSync(join(setup.dir, "config"), baresipConfig(setup, this.recordings));
    writeFileSync(join(setup.dir, "accounts"), setup.account + "\n");
    this.#child = spawn("baresip", ["-f", setup.dir], { stdio: ["ignore", "pipe", "pipe"] });
    this.#child.stdout!.on("data", (d) => this.output += d);
    this.#child.stderr!.on("data", (d) => this.output += d);
    this.#exited = new Promise((resolve) => this.#child.on("close", () => resolve()));
  }

  /** Starts baresip and connects to its ctrl_tcp port (retrying while it starts). */
  static async start(setup: BaresipSetup): Promise<Baresip> {
    const b = new Baresip(setup);
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        b.#socket = await within(connect(setup.ctrlPort), "ctrl_tcp");
        break;
      } catch (e) {
        if (Date.now() > deadline || b.#child.exitCode !== null) {
          await b.stop();
          throw new Error(`baresip's ctrl_tcp on port ${setup.ctrlPort} did not answer (${e}): ${b.output}`);
        }
        await sleep(100);
      }
    }
    b.#socket.on("data", (d: Uint8Array) => b.#read(d));
    b.#socket.on("error", () => {});
    return b;
  }

  /** Sends a command (as typed in baresip's menu: `dial`, `hangup`, `hold`...) and waits for its response. */
  async command(command: string, params = ""): Promise<string> {
    const token = String(++this.#token);
    const body = new TextEncoder().encode(JSON.stringify({ command, params, token }));
    // A netstring: "<length>:<bytes>,".
    this.#socket!.write(new TextEncoder().encode(`${body.length}:`));
    this.#socket!.write(body);
    this.#socket!.write(new TextEncoder().encode(","));
    let response: { ok: boolean; data: string } | undefined;
    await until(
      () => (response = this.#responses.find((r) => r.token === token)) !== undefined,
      `baresip's response to ${command}`,
      5000,
    );
    if (!response!.ok) throw new Error(`baresip: ${command} ${params} failed: ${response!.data}`);
    return response!.data;
  }

  /** Waits for an event of `type` after the first `from` events (and matching `test`); returns its index. */
  async event(type: string, from = 0, ms = 10_000, test: (e: BaresipEvent) => boolean = () => true): Promise<number> {
    let at = -1;
    try {
      await until(
        () => (at = this.events.findIndex((e, i) => i >= from && e.type === type && test(e))) >= 0,
        `baresip event ${type}`,
        ms,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}; events: ${this.events.slice(from).map((e) => e.type).join(" ")}`);
    }
    return at;
  }

  /** The newest recording of received audio (sndfile's `-dec.wav`), if any. */
  decodedFile(): string | undefined {
    const names = readdirSync(this.recordings).filter((n) => n.endsWith("-dec.wav")).sort();
    return names.length === 0 ? undefined : join(this.recordings, names[names.length - 1]);
  }

  /** The samples in the received-audio recording so far (read from the file as it grows). */
  decodedSamples(): number {
    const file = this.decodedFile();
    return file === undefined ? 0 : Math.max(0, (statSync(file).size - 44) >> 1);
  }

  /** Deletes the recordings (between calls: sndfile names them by the second the call started). */
  clearRecordings(): void {
    for (const n of readdirSync(this.recordings)) rmSync(join(this.recordings, n), { force: true });
  }

  /**
   * Reads the received-audio recording once sndfile has closed it (its header then counts every
   * sample written).
   */
  async decodedWav(): Promise<Int16Array> {
    let samples: Int16Array | undefined;
    await until(
      () => {
        const file = this.decodedFile();
        if (file === undefined) return false;
        const bytes = readFileSync(file);
        try {
          samples = parseWav(bytes).samples;
        } catch {
          return false;
        }
        return samples.length * 2 + 44 === bytes.length;
      },
      "sndfile to close its recording",
      5000,
    );
    return samples!;
  }

  /** Ends baresip (SIGTERM, SIGKILL after 3 s). */
  async stop(): Promise<void> {
    this.#socket?.destroy();
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGTERM");
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 3000);
    await this.#exited;
    clearTimeout(timer);
  }

  #read(data: Uint8Array): void {
    const joined = new Uint8Array(this.#buffer.length + data.length);
    joined.set(this.#buffer);
    joined.set(data, this.#buffer.length);
    this.#buffer = joined;
    for (;;) {
      const colon = this.#buffer.indexOf(0x3a);
      if (colon < 0) return;
      const length = Number(new TextDecoder().decode(this.#buffer.subarray(0, colon)));
      if (this.#buffer.length < colon + 1 + length + 1) return;
      const text = new TextDecoder().decode(this.#buffer.subarray(colon + 1, colon + 1 + length));
      this.#buffer = this.#buffer.slice(colon + 1 + length + 1);
      const message = JSON.parse(text);
      if (message.event === true) this.events.push(message);
      else if (message.response === true) this.#responses.push(message);
    }
  }
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** baresip 1.0.0's config file: only the modules the tests use, everything on 127.0.0.1. */
function baresipConfig(s: BaresipSetup, recordings: string): string {
  const lines = [
    "poll_method epoll",
    `sip_listen 127.0.0.1:${s.sipPort}`,
    ...(s.cafile === undefined ? [] : [`sip_cafile ${s.cafile}`]),
    "call_local_timeout 120",
    "call_max_calls 4",
    "audio_player alsa,null",
    `audio_source aufile,${s.source}`,
    "audio_alert alsa,null",
    "audio_level no",
    "ausrc_format s16",
    "auplay_format s16",
    "auenc_format s16",
    "audec_format s16",
    "audio_buffer 20-160",
    `rtp_ports ${s.rtpPorts[0]}-${s.rtpPorts[1]}`,
    "rtcp_mux no",
    "jitter_buffer_delay 5-10",
    `module_path ${MODULES}`,
    "module g711.so",
    "module aufile.so",
    "module alsa.so",
    "module sndfile.so",
    "module_tmp account.so",
    "module_app menu.so",
    "module_app ctrl_tcp.so",
    `ctrl_tcp_listen 127.0.0.1:${s.ctrlPort}`,
    `snd_path ${recordings}`,
  ];
  return lines.join("\n") + "\n";
}
