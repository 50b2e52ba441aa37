// Interop over secure WebSocket with the SIP stack of browser softphones: JsSIP (npm package
// jssip, pinned in tests/interop/jssip/package.json) run by Node.js with its global WebSocket,
// trusting the test CA (NODE_EXTRA_CA_CERTS), registers with a password to the command line's
// --wss listener with --auth-user (JsSIP answers the 401), then sends a MESSAGE.
//
// JsSIP 3.13 answers only MD5 and only the last WWW-Authenticate of a 401 (its parser keeps one
// per name): sipecho's default, one MD5 challenge, is what it needs; with MD5 then SHA-256 it
// gives up with "Authentication Error".
//
// Skipped, with the reason, where `node` is missing or has no WebSocket, or where JsSIP is not
// installed: `.ci/run` installs it (npm ci --prefix tests/interop/jssip) before the tests, so the
// test itself never reaches the registry, and the Deno and Bun runs do not both install at once.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { skipWhy } from "../_skip.ts";
import { runCommand } from "./_sipp.ts";

const DATA = new URL("../data/", import.meta.url).pathname;
const TLS = join(DATA, "tls");
const JSSIP_DIR = new URL("../interop/jssip/", import.meta.url).pathname;

/** The flags `node` needs for a global WebSocket (none from 22 on), or why it cannot run JsSIP. */
function nodeFlags(): string[] | string {
  const probe = (flags: string[]) => {
    try {
      const r = spawnSync("node", [...flags, "-e", "process.stdout.write(typeof WebSocket)"], { encoding: "utf8" });
      return r.error === undefined ? r.stdout : undefined;
    } catch {
      return undefined;
    }
  };
  const plain = probe([]);
  if (plain === undefined) return "node is not on PATH (.ci/run puts Node.js 22 first)";
  if (plain === "function") return [];
  if (probe(["--experimental-websocket"]) === "function") return ["--experimental-websocket"];
  return "this node has no global WebSocket (Node.js 22 has)";
}

function missing(flags: string[] | string): string | false {
  if (typeof flags === "string") return flags;
  if (!existsSync(join(JSSIP_DIR, "node_modules", "jssip", "package.json"))) {
    return "JsSIP is not installed: npm ci --prefix tests/interop/jssip (.ci/run does)";
  }
  return false;
}

/** The command line with a --wss listener on a port of its choice and digest users. */
async function startSipecho(flags: string[]) {
  const mod = new URL("../../mod.ts", import.meta.url).pathname;
  const all = ["--wss", "127.0.0.1:0", "--cert", join(TLS, "cert.pem"), "--key", join(TLS, "key.pem"), "--no-media"]
    .concat(flags);
  const child = spawn(process.execPath, "Bun" in globalThis ? [mod, ...all] : ["run", "-A", mod, ...all], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => stdout += d);
  const exited = new Promise((resolve) => child.on("close", resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no startup line: ${stderr}`)), 30_000);
      child.stderr.on("data", (d) => {
        stderr += d;
        const m = /listening on wss 127\.0\.0\.1:(\d+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.once("close", () => reject(new Error(`sipecho exited: ${stderr}`)));
    });
    return { port, stdout: () => stdout, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Runs the JsSIP script; its exit code and the events it printed (one JSON object a line). */
async function jssip(flags: string[], port: number, password: string) {
  const r = await runCommand("env", [
    `NODE_EXTRA_CA_CERTS=${join(TLS, "ca.pem")}`,
    "node",
    ...flags,
    join(JSSIP_DIR, "register_message.mjs"),
    `wss://127.0.0.1:${port}`,
    "sip:alice@127.0.0.1",
    password,
    "sip:echo@127.0.0.1",
  ], 40_000);
  const events = r.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  return { code: r.code, events, said: `exit ${r.code}\n${r.stdout}\n${r.stderr}` };
}

/** Waits up to 2 s for `re` in what sipecho printed (its lines may trail JsSIP's exit). */
async function printed(stdout: () => string, re: RegExp): Promise<void> {
  for (let i = 0; i < 100 && !re.test(stdout()); i++) await new Promise((r) => setTimeout(r, 20));
  assert.match(stdout(), re, stdout());
}

describe("JsSIP over wss:// against --wss with --auth-user", () => {
  const flags = nodeFlags();
  const skip = skipWhy("JsSIP over wss://", missing(flags));

  test("JsSIP registers with a password (401, then 200) and its MESSAGE is answered 200; a wrong password fails", {
    skip,
    timeout: 90_000,
  }, async () => {
    const sipecho = await startSipecho(["--auth-user", "alice:secret"]);

    const node = flags as string[];
    try {
      const ok = await jssip(node, sipecho.port, "secret");
      assert.equal(ok.code, 0, `${ok.said}\n${sipecho.stdout()}`);
      const registered = ok.events.find((e) => e.event === "registered");
      assert.equal(registered?.status, 200, ok.said);
      const message = ok.events.find((e) => e.event === "message succeeded");
      assert.deepEqual(message, { event: "message succeeded", status: 200, reason: "OK" }, ok.said);
      const out = sipecho.stdout;
      await printed(out, /!! auth wss 127\.0\.0\.1:\d+: REGISTER sip:127\.0\.0\.1: challenged: 401, realm "sipecho"/);
      await printed(
        out,
        /!! auth wss 127\.0\.0\.1:\d+: REGISTER sip:127\.0\.0\.1: "alice" authenticated \(MD5, realm "sipecho"\)/,
      );
      const messageLine = /<- wss 127\.0\.0\.1:\d+ MESSAGE sip:echo@127\.0\.0\.1 (\S+)\n/;
      await printed(out, messageLine);
      const callId = messageLine.exec(out())![1];
      await printed(
        out,
        new RegExp(`-> wss 127\\.0\\.0\\.1:\\d+ 200 OK ${callId.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\n`),
      );

      const wrong = await jssip(node, sipecho.port, "guess");
      assert.equal(wrong.code, 1, wrong.said);
      const failed = wrong.events.find((e) => e.event === "registrationFailed");
      assert.deepEqual(failed, { event: "registrationFailed", cause: "Authentication Error", status: 401 }, wrong.said);
      assert.equal(wrong.events.some((e) => e.event === "message succeeded"), false, wrong.said);
      await printed(out, /REGISTER sip:127\.0\.0\.1: refused \(wrong-response[^\n]*"alice"[^\n]*\): 401/);
    } finally {
      await sipecho.stop();
    }
  });
});
