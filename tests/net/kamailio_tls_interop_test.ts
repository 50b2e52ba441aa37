// Interop over TLS through a SIP proxy no one here wrote: SIPp (Debian's is built without TLS)
// plays calls over UDP to Kamailio, which forwards every request to sipecho's --tls listener
// over TLS (verifying its certificate against the test CA) and record-routes, so the ACK and
// BYE come through it too (tests/data/kamailio/tls_forward.cfg, tests/data/sipp_uac_routes.xml).
// Both processes run in the foreground on loopback with ports found at run time and Kamailio's
// files in a private directory, so parallel runs do not collide. Skipped, with the reason, where
// Kamailio, its TLS module or SIPp is missing.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
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

/** sipecho's command line with a --tls listener on a port of its choice; resolves with that port. */
async function startSipecho(): Promise<Running & { port: number }> {
  const mod = new URL("../../mod.ts", import.meta.url).pathname;
  const flags = ["--tls", "127.0.0.1:0", "--cert", join(TLS, "cert.pem"), "--key", join(TLS, "key.pem"), "--no-media"];
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

/** Kamailio in the foreground: UDP on `udp`, its own TLS socket on `tls`, forwarding to sipecho's `target` port. */
function startKamailio(dir: string, udp: number, tls: number, target: number): Running {
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
    ...define("TLS_CA", join(TLS, "ca.pem")),
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
          ],
          90_000,
          dir,
        );
        const why = `sipp exited ${r.code}: ${r.stderr}\n${r.stdout.slice(-3000)}\n${k.stderr().slice(-3000)}`;
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
});
