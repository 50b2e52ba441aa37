// Interop over TLS through a SIP proxy no one here wrote: SIPp (Debian's is built without TLS)
// plays calls over UDP to Kamailio, which forwards every request to sipecho's --tls listener
// over TLS (verifying its certificate against the test CA) and record-routes, so the ACK and
// BYE come through it too (tests/data/kamailio/tls_forward.cfg, tests/data/sipp_uac_routes.xml).
// Both processes run in the foreground on loopback with ports found at run time and Kamailio's
// files in a private directory, so parallel runs do not collide. And the other way round: Kamailio
// trusting another CA refuses sipecho's certificate, so the verification is known to be on.
// Skipped, with the reason, where Kamailio, its TLS module or SIPp is missing.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import dgram from "node:dgram";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { skipWhy } from "../_skip.ts";
import { answering, freePort, HAVE_SIPP, installed, runCommand, sippCount } from "./_sipp.ts";

const DATA = new URL("../data/", import.meta.url).pathname;
const TLS = join(DATA, "tls");
const KAMAILIO_TLS_MODULE = "/usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so";
const CALLS = 200;

function missing(): string | false {
  if (!installed("kamailio", "-v")) return "kamailio is not installed (Debian package kamailio; .ci/run installs it)";
  if (!existsSync(KAMAILIO_TLS_MODULE)) {
    return `${KAMAILIO_TLS_MODULE} is missing (Debian package kamailio-tls-modules; .ci/run installs it)`;
  }
  if (!HAVE_SIPP) return "sipp is not installed (Debian package sip-tester; .ci/run installs it)";
  return false;
}

/** A TCP port of 127.0.0.1 free now (the kernel's choice). */
function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** A started process: what it wrote so far, and stopping it (SIGTERM, then its exit). */
interface Running {
  stdout: () => string;
  stderr: () => string;
  stop: () => Promise<void>;
}

function start(cmd: string, args: string[]): { child: ChildProcess; running: Running } {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => stdout += d);
  child.stderr!.on("data", (d) => stderr += d);
  const exited = new Promise((resolve) => child.on("close", resolve));
  const running = {
    stdout: () => stdout,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
  return { child, running };
}

/**
 * sipecho's command line with a --tls listener on a port of its choice; resolves with that port.
 * `--profile lab`: every request comes from Kamailio's one address, 150 messages a second at 50
 * calls a second, over the public profile's 100 per source (docs/limits.md, docs/deployment.md).
 */
async function startSipecho(): Promise<Running & { port: number }> {
  const mod = new URL("../../mod.ts", import.meta.url).pathname;
  const flags = ["--tls", "127.0.0.1:0", "--cert", join(TLS, "cert.pem"), "--key", join(TLS, "key.pem"), "--no-media"];
  flags.push("--profile", "lab");
  const { child, running } = start(
    process.execPath,
    "Bun" in globalThis ? [mod, ...flags] : ["run", "-A", mod, ...flags],
  );
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no startup line: ${running.stderr()}`)), 30_000);
      const look = () => {
        const m = /listening on tls 127\.0\.0\.1:(\d+)/.exec(running.stderr());
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stderr!.on("data", look);
      child.once("close", () => reject(new Error(`sipecho exited: ${running.stderr()}`)));
    });
    return { ...running, port };
  } catch (e) {
    await running.stop();
    throw e;
  }
}

/**
 * Kamailio in the foreground: UDP on `udp`, its own TLS socket on `tls`, forwarding to sipecho's
 * `target` port and trusting `ca` (a PEM file of tests/data/tls) for sipecho's certificate.
 */
function startKamailio(dir: string, udp: number, tls: number, target: number, ca = "ca.pem"): Running {
  const define = (name: string, value: string) => ["-A", `${name}=${JSON.stringify(value)}`];
  return start("kamailio", [
    "-f",
    join(DATA, "kamailio", "tls_forward.cfg"),
    "-DD",
    "-E",
    "-w",
    dir,
    "-Y",
    dir,
    "-m",
    "32",
    "-M",
    "4",
    "-l",
    `udp:127.0.0.1:${udp}`,
    "-l",
    `tls:127.0.0.1:${tls}`,
    ...define("SIPECHO", `sip:127.0.0.1:${target};transport=tls`),
    ...define("TLS_CERT", join(TLS, "cert.pem")),
    ...define("TLS_KEY", join(TLS, "key.pem")),
    ...define("TLS_CA", join(TLS, ca)),
  ]).running;
}

describe("SIPp over UDP to Kamailio, which forwards over TLS to sipecho", () => {
  const skip = skipWhy("Kamailio forwarding over TLS", missing());

  test(
    `${CALLS} calls (INVITE, 200, ACK, BYE, 200) through Kamailio, record-routed: all successful, every request reached sipecho over TLS`,
    {
      skip,
      timeout: 120_000,
    },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "kamailio-tls-"));
      const sipecho = await startSipecho();
      let kamailio: Running | undefined;
      try {
        const udp = await freePort();
        const sippPort = await freePort();
        kamailio = startKamailio(dir, udp, await freeTcpPort(), sipecho.port);
        const k = kamailio;
        // An OPTIONS answered through Kamailio: it is up and reaches sipecho over TLS.
        await answering(udp, 30_000).catch((e) => {
          throw new Error(`${e.message}\n${k.stderr().slice(-3000)}`);
        });
        const r = await runCommand(
          "sipp",
          [
            `127.0.0.1:${udp}`,
            "-sf",
            join(DATA, "sipp_uac_routes.xml"),
            "-s",
            "echo",
            "-m",
            String(CALLS),
            "-r",
            "50",
            "-d",
            "100",
            "-i",
            "127.0.0.1",
            "-p",
            String(sippPort),
            "-nostdin",
            "-timeout",
            "60s",
            "-timeout_error",
            "-trace_err",
          ],
          90_000,
          dir,
        );
        const errors = readdirSync(dir).filter((f) => f.endsWith("_errors.log"))
          .map((f) => readFileSync(join(dir, f), "utf8").slice(0, 3000)).join("\n");
        const limits = sipecho.stdout().match(/^.*!! limit.*$/gm)?.join("\n") ?? "";
        const why = `sipp exited ${r.code}: ${r.stderr}\n${r.stdout.slice(-3000)}\n${errors}\n${limits}\n` +
          k.stderr().slice(-3000);
        assert.equal(r.code, 0, why);
        assert.equal(sippCount(r.stdout, "Successful call"), CALLS, why);
        assert.equal(sippCount(r.stdout, "Failed call"), 0, why);
        // sipecho's traffic lines ("TIME <- tls ADDR METHOD URI CALL-ID"): the INVITE, ACK and BYE of
        // every call came over TLS, from Kamailio's connection (Call-IDs counted once: an ACK may be resent).
        const out = sipecho.stdout();
        for (const method of ["INVITE", "ACK", "BYE"]) {
          const re = new RegExp(`^\\S+ <- tls 127\\.0\\.0\\.1:\\d+ ${method} \\S+ (\\S+)$`, "gm");
          const calls = new Set([...out.matchAll(re)].map((m) => m[1]));
          assert.equal(calls.size, CALLS, `${method}s over TLS: ${calls.size}\n${out.slice(-2000)}`);
        }
        assert.doesNotMatch(out, /<- (udp|tcp) /);
      } finally {
        await kamailio?.stop();
        await sipecho.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  test(
    "Kamailio trusting another CA refuses sipecho's certificate: certificate verify failed, no request reaches sipecho",
    {
      skip,
      timeout: 90_000,
    },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "kamailio-tls-"));
      const sipecho = await startSipecho();
      // The leaf itself as the only trust anchor: it is not a CA, so the chain cannot be built.
      const udp = await freePort();
      const kamailio = startKamailio(dir, udp, await freeTcpPort(), sipecho.port, "cert.pem");
      const socket = dgram.createSocket("udp4");
      try {
        // OPTIONS to Kamailio every half second until it reports the failed verification.
        const failed = /certificate verify failed/;
        for (let n = 0; n < 60 && !failed.test(kamailio.stderr()); n++) {
          const options = `OPTIONS sip:echo@127.0.0.1:${udp} SIP/2.0\r\n` +
            `Via: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bK-ca${n}\r\nMax-Forwards: 70\r\n` +
            `From: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:echo@127.0.0.1>\r\nCall-ID: ca@test\r\nCSeq: ${
              n + 1
            } OPTIONS\r\n` +
            `Content-Length: 0\r\n\r\n`;
          socket.send(options, udp, "127.0.0.1");
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        assert.match(kamailio.stderr(), failed, `${sipecho.stderr()}\n${kamailio.stderr().slice(-3000)}`);
        // sipecho's side of it: the handshake failed (Deno names the unknown-CA alert, Bun does not).
        const said = () => sipecho.stderr() + sipecho.stdout();
        const dropped = /!! dropped tls 127\.0\.0\.1:\d+: closing the tls connection: TLS handshake failed/;
        for (let i = 0; i < 100 && !dropped.test(said()); i++) await new Promise((r) => setTimeout(r, 20));
        assert.match(said(), dropped);
        assert.doesNotMatch(sipecho.stdout(), /<- tls /, sipecho.stdout());
      } finally {
        socket.close();
        await kamailio.stop();
        await sipecho.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
