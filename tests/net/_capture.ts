// A tcpdump capture on loopback read back as UDP datagrams (the classic pcap file format, Ethernet
// or Linux "cooked" link types, IPv4), while it is still being written: for the interop tests
// that check what went over the wire to a peer that cannot record it itself.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { installed } from "./_sipp.ts";

/** Why a capture on lo cannot be made here, or false. */
export function captureMissing(): string | false {
  if (!installed("tcpdump", "--version")) {
    return "tcpdump is not installed (Debian package tcpdump; .ci/run installs it)";
  }
  if ((process as { getuid?: () => number }).getuid?.() !== 0) return "not root: tcpdump captures on lo only as root";
  return false;
}

/** A captured UDP datagram: when (ms since the epoch), ports, payload. */
export interface CapturedDatagram {
  time: number;
  from: number;
  to: number;
  payload: Uint8Array;
}

/** Bytes before the IP header, by pcap link type. */
const LINK_HEADER: Record<number, number> = { 0: 4, 1: 14, 113: 16, 276: 20 };

/** The UDP over IPv4 datagrams of a classic pcap file (records cut short at its end are left out). */
export function readPcapUdp(bytes: Uint8Array): CapturedDatagram[] {
  if (bytes.length < 24) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  if (!little && magic !== 0xd4c3b2a1 && magic !== 0x4d3cb2a1) throw new SyntaxError("not a pcap file");
  const linkOffset = LINK_HEADER[view.getUint32(20, little)];
  if (linkOffset === undefined) throw new SyntaxError(`pcap link type ${view.getUint32(20, little)} not read here`);
  const out: CapturedDatagram[] = [];
  for (let at = 24; at + 16 <= bytes.length;) {
    const time = view.getUint32(at, little) * 1000 + view.getUint32(at + 4, little) / (nano ? 1e6 : 1e3);
    const length = view.getUint32(at + 8, little);
    const start = at + 16;
    at = start + length;
    if (at > bytes.length) break;
    const ip = start + linkOffset;
    if (ip + 20 > at || bytes[ip] >> 4 !== 4 || bytes[ip + 9] !== 17) continue; // IPv4, UDP
    const udp = ip + (bytes[ip] & 0x0f) * 4;
    if (udp + 8 > at) continue;
    out.push({
      time,
      from: view.getUint16(udp),
      to: view.getUint16(udp + 2),
      payload: bytes.slice(udp + 8, Math.min(at, udp + view.getUint16(udp + 4))),
    });
  }
  return out;
}

/** tcpdump on lo with a filter, written to `file` packet by packet (-U). */
export class Capture {
  #child: ReturnType<typeof spawn>;
  #exited: Promise<void>;
  #stderr = "";
  /** The pcap file. */
  readonly file: string;

  private constructor(file: string, filter: string) {
    this.file = file;
    this.#child = spawn("tcpdump", ["-i", "lo", "-nn", "-U", "-w", file, filter], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.#child.stderr!.on("data", (d) => this.#stderr += d);
    this.#exited = new Promise((resolve) => this.#child.on("close", () => resolve()));
  }

  /** Starts tcpdump and waits until it says it is listening. */
  static async start(file: string, filter: string): Promise<Capture> {
    const c = new Capture(file, filter);
    const deadline = Date.now() + 10_000;
    while (!/listening on/.test(c.#stderr)) {
      if (Date.now() > deadline || c.#child.exitCode !== null) {
        await c.stop();
        throw new Error(`tcpdump did not start: ${c.#stderr}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return c;
  }

  /** The datagrams captured so far. */
  datagrams(): CapturedDatagram[] {
    try {
      return readPcapUdp(readFileSync(this.file));
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return [];
      throw e;
    }
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGTERM");
    await this.#exited;
  }
}
