// What Wireshark makes of sipecho's challenges: the command line (--auth-user, a rules file
// offering MD5, SHA-256 and SHA-512-256 in realm "tshark.test", and a rule that challenges as a
// proxy) answers a REGISTER with 401 and an INVITE with 407; the datagrams sent and received are
// written to a pcap file (tests/net/_pcap.ts: no capture, so no capture permissions) and tshark's
// SIP dissector reads it. It must find nothing malformed and no expert warning or error, and
// decode each WWW-Authenticate and Proxy-Authenticate into its realm, nonce, algorithm and qop
// (RFC 3261 §22.1, RFC 7616 §3.3, RFC 8760 §2.3); and the REGISTER sent again with the
// Authorization of sipecho's DigestClient (SHA-512-256) into its username, uri, qop, nc and
// response, answered 200 (RFC 7616 §3.4). A copy of the 401 with one header broken must
// be flagged, so that the check is known to look. Skipped, with the reason, where tshark is missing.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import dgram from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { DigestClient } from "../../src/auth/mod.ts";
import { skipWhy } from "../_skip.ts";
import { type Datagram, pcapOf } from "./_pcap.ts";
import { answering, freePort, installed, runCommand } from "./_sipp.ts";

const DATA = new URL("../data/", import.meta.url).pathname;
const ALGORITHMS = ["MD5", "SHA-256", "SHA-512-256"];

/** Sends SIP requests from one UDP socket and keeps every datagram both ways, in order. */
class Recorder {
  readonly datagrams: Datagram[] = [];
  private readonly socket = dgram.createSocket("udp4");
  private waiting: { re: RegExp; resolve: (text: string) => void } | undefined;

  static async open(): Promise<Recorder> {
    const r = new Recorder();
    await new Promise<void>((resolve) => r.socket.bind(0, "127.0.0.1", resolve));
    r.socket.on("message", (payload, rinfo) => {
      r.datagrams.push({
        from: { address: rinfo.address, port: rinfo.port },
        to: r.local(),
        time: Date.now(),
        payload: new Uint8Array(payload),
      });
      const text = payload.toString("latin1");
      if (r.waiting?.re.test(text)) r.waiting.resolve(text);
    });
    return r;
  }

  local(): { address: string; port: number } {
    return { address: "127.0.0.1", port: this.socket.address().port };
  }

  /** Sends `text` to `port`, and resolves with the first datagram back matching `answer`. */
  send(text: string, port: number, answer?: RegExp): Promise<string> {
    const payload = new TextEncoder().encode(text);
    this.datagrams.push({ from: this.local(), to: { address: "127.0.0.1", port }, time: Date.now(), payload });
    this.socket.send(payload, port, "127.0.0.1");
    if (answer === undefined) return Promise.resolve("");
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer matching ${answer} to:\n${text}\nreceived:\n${this.received()}`)),
        10_000,
      );
      this.waiting = {
        re: answer,
        resolve: (t) => {
          clearTimeout(timer);
          this.waiting = undefined;
          resolve(t);
        },
      };
    });
  }

  /** What came back so far, for a failure's message. */
  received(): string {
    const local = this.local().port;
    return this.datagrams.filter((d) => d.to.port === local).map((d) => new TextDecoder().decode(d.payload)).join("\n");
  }

  close(): void {
    this.socket.close();
  }
}

function request(method: string, uri: string, from: string, callId: string, tag: string, extra = ""): string {
  const body = method === "INVITE"
    ? "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"
    : "";
  return `${method} ${uri} SIP/2.0\r\nVia: SIP/2.0/UDP ${from};rport;branch=z9hG4bK-${tag}-${method}\r\n` +
    `Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=${tag}\r\nTo: <${uri}>\r\nCall-ID: ${callId}\r\n` +
    `CSeq: 1 ${method}\r\nContact: <sip:alice@${from}>\r\n${extra}` +
    (body === "" ? "" : "Content-Type: application/sdp\r\n") + `Content-Length: ${body.length}\r\n\r\n${body}`;
}

/** tshark's fields of the frames `filter` selects, one line a frame, all occurrences joined by `,`. */
async function tshark(file: string, port: number, filter: string, fields: string[]): Promise<string[]> {
  const r = await runCommand("tshark", [
    "-r",
    file,
    "-d",
    `udp.port==${port},sip`,
    "-Y",
    filter,
    "-T",
    "fields",
    "-E",
    "occurrence=a",
    "-E",
    "aggregator=,",
    ...fields.flatMap((f) => ["-e", f]),
  ], 30_000);
  assert.equal(r.code, 0, `tshark exited ${r.code}: ${r.stderr}`);
  return r.stdout.split("\n").filter((l) => l !== "");
}

const unique = (lines: string[]) => [...new Set(lines)];

const PROBLEMS = "_ws.malformed || _ws.expert.severity >= warning";

describe("tshark's SIP dissector reads sipecho's 401 and 407 challenges", () => {
  const skip = skipWhy(
    "tshark reads the challenges",
    installed("tshark", "-v") ? false : "tshark is not installed (Debian package tshark; .ci/run installs it)",
  );

  test(
    "401 with WWW-Authenticate and 407 with Proxy-Authenticate (MD5, SHA-256, SHA-512-256): nothing malformed, every field decoded; the SHA-512-256 answer gets 200",
    {
      skip,
      timeout: 90_000,
    },
    async () => {
      const port = await freePort();
      const mod = new URL("../../mod.ts", import.meta.url).pathname;
      const flags = [
        "--udp",
        `127.0.0.1:${port}`,
        "--no-media",
        "--quiet",
        "--profile",
        "lab",
        "--auth-user",
        "alice:secret",
      ];
      flags.push("--rules", join(DATA, "auth_challenges.json"));
      const child = spawn(process.execPath, "Bun" in globalThis ? [mod, ...flags] : ["run", "-A", mod, ...flags], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d) => stderr += d);
      const exited = new Promise((resolve) => child.on("close", resolve));
      const dir = mkdtempSync(join(tmpdir(), "tshark-auth-"));
      const recorder = await Recorder.open();
      try {
        await answering(port, 30_000).catch((e) => {
          throw new Error(`${e.message}\n${stderr}`);
        });
        const me = `127.0.0.1:${recorder.local().port}`;
        const unauthorized = await recorder.send(
          request("REGISTER", `sip:127.0.0.1:${port}`, me, "reg-1@tshark", "r1", "Expires: 300\r\n"),
          port,
          /^SIP\/2\.0 401 /,
        );
        const invite = request("INVITE", `sip:proxy@127.0.0.1:${port}`, me, "inv-1@tshark", "i1");
        const proxyAuth = await recorder.send(invite, port, /^SIP\/2\.0 407 /);
        // The ACK of the 407 (RFC 3261 §17.1.1.3): same branch, To with the 407's tag.
        const toTag = /^To: [^\r\n]*;tag=([^;\r\n]+)/m.exec(proxyAuth)?.[1];
        await recorder.send(
          request("ACK", `sip:proxy@127.0.0.1:${port}`, me, "inv-1@tshark", "i1")
            .replace(/^To: <([^>]+)>\r\n/m, `To: <$1>;tag=${toTag}\r\n`).replace("-i1-ACK", "-i1-INVITE"),
          port,
        );
        const nonceOf = (text: string) => [...text.matchAll(/nonce="([^"]+)"/g)].map((m) => m[1]);
        assert.equal(nonceOf(unauthorized).length, 3, unauthorized);
        assert.equal(nonceOf(proxyAuth).length, 3, proxyAuth);
        // The REGISTER again with sipecho's own DigestClient answering the SHA-512-256 challenge: 200.
        const client = new DigestClient({
          username: "alice",
          password: "secret",
          algorithms: ["SHA-512-256"],
          random: (n) => crypto.getRandomValues(new Uint8Array(n)),
        });
        const uri = `sip:127.0.0.1:${port}`;
        const challenges = [...unauthorized.matchAll(/^WWW-Authenticate: ([^\r\n]+)/gm)].map((m) => m[1]);
        const answer = client.authorize({ method: "REGISTER", uri, challenges });
        const authorized = request(
          "REGISTER",
          uri,
          me,
          "reg-1@tshark",
          "r2",
          `Expires: 300\r\nAuthorization: ${answer.value}\r\n`,
        )
          .replace("CSeq: 1 REGISTER", "CSeq: 2 REGISTER").replace("tag=r2", "tag=r1");
        await recorder.send(authorized, port, /^SIP\/2\.0 200 /);

        const file = join(dir, "challenges.pcap");
        writeFileSync(file, pcapOf(recorder.datagrams));
        const problems = await tshark(file, port, PROBLEMS, ["frame.number", "_ws.expert.message"]);
        assert.deepEqual(problems, [], `tshark flags:\n${problems.join("\n")}`);

        const fields = ["sip.Status-Code", "sip.auth.scheme", "sip.auth.realm", "sip.auth.nonce", "sip.auth.algorithm"];
        // Each distinct frame once: a 407 resent before our ACK arrived is the same bytes.
        const rows = unique(
          await tshark(file, port, "sip.Status-Code == 401 || sip.Status-Code == 407", [...fields, "sip.auth.qop"]),
        );
        const quoted = (v: string) => `"${v}"`;
        assert.deepEqual(rows, [
          [
            "401",
            "Digest,Digest,Digest",
            Array(3).fill(quoted("tshark.test")).join(","),
            nonceOf(unauthorized).map(quoted).join(","),
            ALGORITHMS.join(","),
            Array(3).fill(quoted("auth")).join(","),
          ].join("\t"),
          [
            "407",
            "Digest,Digest,Digest",
            Array(3).fill(quoted("tshark.test")).join(","),
            nonceOf(proxyAuth).map(quoted).join(","),
            ALGORITHMS.join(","),
            Array(3).fill(quoted("auth")).join(","),
          ].join("\t"),
        ]);
        // The answer to the 401, as tshark reads it, and sipecho's 200 after it.
        const credentials = await tshark(file, port, "sip.Authorization", [
          "sip.CSeq.seq",
          "sip.auth.username",
          "sip.auth.realm",
          "sip.auth.uri",
          "sip.auth.algorithm",
          "sip.auth.qop",
          "sip.auth.nc",
          "sip.auth.digest.response",
        ]);
        assert.equal(credentials.length, 1, credentials.join("\n"));
        const response = /response="([0-9a-f]+)"/.exec(answer.value)![1];
        assert.equal(response.length, 64, answer.value);
        assert.deepEqual(credentials[0].split("\t"), [
          "2",
          quoted("alice"),
          quoted("tshark.test"),
          quoted(uri),
          "SHA-512-256",
          "auth",
          "00000001",
          quoted(response),
        ]);
        assert.deepEqual(
          unique(await tshark(file, port, "sip.Status-Code == 200", ["sip.CSeq.method", "sip.CSeq.seq"])),
          [
            "REGISTER\t2",
          ],
        );
        // Which header each came in: three WWW-Authenticate in the 401, three Proxy-Authenticate in the 407.
        const headers = unique(
          await tshark(file, port, "sip.Status-Code >= 401", ["sip.WWW-Authenticate", "sip.Proxy-Authenticate"]),
        );
        assert.equal(headers.length, 2, headers.join("\n"));
        assert.equal(headers[0].split("\t")[0].split(",Digest").length, 3, headers[0]);
        assert.equal(headers[1].split("\t")[1].split(",Digest").length, 3, headers[1]);

        // The check looks: the same 401 with a colon taken out is flagged.
        const i = recorder.datagrams.findIndex((d) => new TextDecoder().decode(d.payload).startsWith("SIP/2.0 401 "));
        const broken = new TextDecoder().decode(recorder.datagrams[i].payload).replace(
          "WWW-Authenticate:",
          "WWW-Authenticate",
        );
        const bad = join(dir, "broken.pcap");
        writeFileSync(bad, pcapOf([{ ...recorder.datagrams[i], payload: new TextEncoder().encode(broken) }]));
        assert.notDeepEqual(await tshark(bad, port, PROBLEMS, ["frame.number", "_ws.expert.message"]), []);
      } finally {
        recorder.close();
        child.kill("SIGTERM");
        await exited;
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
