// examples/kamailio-dispatcher run for real: two sipecho command lines (on the runtime running
// this test) behind Kamailio's dispatcher module, with the shipped kamailio.cfg as it is (the
// ports, the destination list and a short probing interval come in as -A defines). SIPp calls
// one user per call through Kamailio (tests/data/sipp_dispatcher_uac.xml); each instance's
// /metrics says how many INVITEs it got. CI installs Kamailio and SIPp (.ci/run); where either
// is missing the tests are skipped with that reason.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import dgram from "node:dgram";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { skipWhy } from "../_skip.ts";
import { sleep, within } from "../_wait.ts";
import { freePort, HAVE_SIPP, installed, runCommand, sippCount } from "./_sipp.ts";

const KAMAILIO = "/usr/sbin/kamailio";
const HAVE_KAMAILIO = installed(KAMAILIO, "-v");
const HAVE_KAMCMD = installed("kamcmd", "-V");
const EXAMPLE = new URL("../../examples/kamailio-dispatcher/", import.meta.url).pathname;
const SCENARIO = new URL("../data/sipp_dispatcher_uac.xml", import.meta.url).pathname;
const MOD = new URL("../../mod.ts", import.meta.url).pathname;

interface Instance {
  port: number;
  http: number;
  child: ChildProcess;
  exited: Promise<unknown>;
}

/**
 * Starts the command line on `port` and resolves once its first startup line names the HTTP
 * port (`--http 127.0.0.1:0` picks a free one). `--profile lab`: behind a proxy every request
 * comes from the proxy's one address, which the public profile's per-source limits would throttle.
 */
async function startSipecho(port: number): Promise<Instance> {
  const flags = ["--udp", `127.0.0.1:${port}`, "--no-media", "--quiet", "--profile", "lab", "--http", "127.0.0.1:0"];
  const args = "Bun" in globalThis ? [MOD, ...flags] : ["run", "-A", MOD, ...flags];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  const exited = new Promise((resolve) => child.on("close", resolve));
  let stderr = "";
  const http = await within(
    new Promise<number>((resolve, reject) => {
      child.stderr!.on("data", (d) => {
        stderr += d;
        const m = /http 127\.0\.0\.1:(\d+)/.exec(stderr);
        if (m) resolve(Number(m[1]));
      });
      child.on("close", (code) => reject(new Error(`sipecho on ${port} exited ${code}: ${stderr}`)));
    }),
    `sipecho on udp ${port} to start`,
    30_000,
  );
  return { port, http, child, exited };
}

/** A counter or gauge of an instance's /metrics (0 when the series is absent). */
async function metric(instance: Instance, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${instance.http}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

const MESSAGES = 'sipecho_requests_total{method="MESSAGE",transport="udp"}';
const invites = (i: Instance) => metric(i, 'sipecho_requests_total{method="INVITE",transport="udp"}');
/** Retransmitted requests an instance matched to their transaction (Kamailio resends an INVITE with no reply in 500 ms). */
const absorbed = (i: Instance) => metric(i, "sipecho_retransmissions_absorbed_total");

/**
 * Asserts that `counts` (INVITEs received, retransmissions included) hold `calls` new INVITEs:
 * at least `calls`, and at most `calls` once every retransmission absorbed is taken off.
 */
function assertNewInvites(counts: number[], resent: number[], calls: number, what: string): void {
  const total = counts.reduce((x, y) => x + y, 0);
  const retransmitted = resent.reduce((x, y) => x + y, 0);
  assert.ok(total >= calls && total - retransmitted <= calls, `${what}: ${total} INVITEs, ${retransmitted} resent`);
}

/** The FLAGS of each destination in `kamcmd dispatcher.list` ("AP": active, "IP": inactive, probing). */
async function dispatcherFlags(ctl: string): Promise<Map<string, string>> {
  const r = await runCommand("kamcmd", ["-s", ctl, "dispatcher.list"], 10_000);
  return new Map([...r.stdout.matchAll(/URI: (\S+)\s+FLAGS: (\S+)/g)].map((m) => [m[1], m[2]]));
}

/** Sends one request over UDP from `socket` and resolves with the first final response to it. */
function request(socket: dgram.Socket, port: number, text: string): Promise<string> {
  const callId = /Call-ID: (\S+)/.exec(text)![1];
  return within(
    new Promise<string>((resolve) => {
      const onMessage = (msg: Buffer) => {
        const reply = msg.toString();
        if (!reply.includes(`Call-ID: ${callId}`) || /^SIP\/2\.0 1\d\d/.test(reply)) return;
        socket.off("message", onMessage);
        resolve(reply);
      };
      socket.on("message", onMessage);
      socket.send(text, port, "127.0.0.1");
    }),
    `the answer to ${text.split("\r\n")[0]}`,
    10_000,
  );
}

describe("Kamailio dispatcher in front of two sipecho instances (examples/kamailio-dispatcher)", () => {
  const skip = skipWhy(
    "Kamailio dispatcher",
    !HAVE_KAMAILIO
      ? `${KAMAILIO} is not installed (Debian package kamailio; .ci/run installs it)`
      : !HAVE_KAMCMD
      ? "kamcmd is not installed (Debian package kamailio)"
      : !HAVE_SIPP
      ? "sipp is not installed (Debian package sip-tester; .ci/run installs it)"
      : false,
  );
  let dir = "";
  let ctl = "";
  let proxy = 0;
  let a: Instance;
  let b: Instance;
  let kamailio: ChildProcess | undefined;
  let kamailioExited: Promise<unknown> = Promise.resolve();
  let kamailioLog = "";
  let aStopped = false;
  /** The test's own UDP socket for the requests it writes itself. */
  let socket: dgram.Socket | undefined;
  let n = 0;
  /** The users (alice<N>) whose binding each instance took. */
  const held: number[][] = [[], []];

  /** A request from `socket` with its own Call-ID and branch, From and To the AOR. */
  function req(method: string, uri: string, aor: string, extra: string, body = ""): string {
    const local = socket!.address().port;
    n++;
    return `${method} ${uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${local};rport;branch=z9hG4bK-ds${n}\r\n` +
      `Max-Forwards: 70\r\nFrom: <${aor}>;tag=f${n}\r\nTo: <${aor}>\r\nCall-ID: ds-${n}@test\r\n` +
      `CSeq: 1 ${method}\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;
  }

  /** Waits until `uri`'s FLAGS in `kamcmd dispatcher.list` start with `state` ("A", "I"...). */
  async function untilFlags(uri: string, state: string, ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    for (;;) {
      const flags = await dispatcherFlags(ctl);
      if (flags.get(uri)?.startsWith(state)) return;
      if (performance.now() > deadline) {
        assert.fail(`${uri} not ${state} in ${ms} ms: ${[...flags]}\n${kamailioLog.slice(-3000)}`);
      }
      await sleep(100);
    }
  }

  /** A MESSAGE to alice<i> through Kamailio; resolves with the final response. */
  function message(i: number): Promise<string> {
    const aor = `sip:alice${i}@127.0.0.1`;
    return request(
      socket!,
      proxy,
      req("MESSAGE", `sip:alice${i}@127.0.0.1:${proxy}`, aor, "Content-Type: text/plain\r\n", "hi"),
    );
  }

  /** SIPp's calls through Kamailio, one user per call (user1, user2, ...). */
  async function sippCalls(calls: number): Promise<{ successful: number; failed: number }> {
    const args = [`127.0.0.1:${proxy}`, "-sf", SCENARIO, "-m", String(calls), "-r", "50", "-i", "127.0.0.1"];
    const r = await runCommand("sipp", [...args, "-nostdin", "-timeout", "30s", "-timeout_error"], 40_000, dir);
    const counts = { successful: sippCount(r.stdout, "Successful call"), failed: sippCount(r.stdout, "Failed call") };
    assert.equal(
      r.code,
      0,
      `sipp exited ${r.code}: ${r.stderr}\n${r.stdout.slice(-2000)}\n${kamailioLog.slice(-2000)}`,
    );
    return counts;
  }

  before(async () => {
    if (skip !== false) return;
    dir = mkdtempSync(join(tmpdir(), "dispatcher-"));
    mkdirSync(join(dir, "run"));
    ctl = `unix:${join(dir, "run", "ctl")}`;
    socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => socket!.bind(0, "127.0.0.1", resolve));
    const [pa, pb] = [await freePort(), await freePort()];
    proxy = await freePort();
    [a, b] = await Promise.all([startSipecho(pa), startSipecho(pb)]);
    const list = join(dir, "dispatcher.list");
    writeFileSync(list, `1 sip:127.0.0.1:${a.port} 0 0\n1 sip:127.0.0.1:${b.port} 0 0\n`);
    const defines = [
      `LISTEN=udp:127.0.0.1:${proxy}`,
      `DS_LIST="${list}"`,
      `CTL_SOCKET="${ctl}"`,
      // probe every second; one failed probe marks an instance inactive; 1 s to the next instance
      "PING_INTERVAL=1",
      "PROBING_THRESHOLD=1",
      "FR_TIMER=1000",
      // one UDP worker: with several, a 180 may overtake the 200 (each is relayed by whichever
      // worker reads it), which a UA ignores but SIPp's fixed scenario counts as a failed call
      "CHILDREN=1",
      "LOG_LEVEL=2",
    ];
    const args = ["-f", join(EXAMPLE, "kamailio.cfg"), "-DD", "-E", "-w", dir, "-Y", join(dir, "run"), "-m", "32"];
    kamailio = spawn(KAMAILIO, [...args, "-M", "4", ...defines.flatMap((d) => ["-A", d])], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    kamailio.stderr!.on("data", (d) => kamailioLog += d);
    kamailioExited = new Promise((resolve) => kamailio!.on("close", resolve));
    // up when its RPC answers and both instances are listed active
    for (let t = 0;; t++) {
      const flags = await dispatcherFlags(ctl);
      if ([...flags.values()].filter((f) => f.startsWith("A")).length === 2) break;
      if (t > 100 || kamailio.exitCode !== null) throw new Error(`Kamailio did not come up:\n${kamailioLog}`);
      await sleep(100);
    }
  });

  after(async () => {
    for (const child of [kamailio, a?.child, b?.child]) if (child && child.exitCode === null) child.kill("SIGTERM");
    await Promise.all([kamailioExited, a?.exited, b?.exited]);
    socket?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("200 SIPp calls, one user each: spread over both instances by the hash of the user, none failed", {
    skip,
    timeout: 60_000,
  }, async () => {
    const calls = await sippCalls(200);
    const split = [await invites(a), await invites(b)];
    console.log(`dispatcher split of 200 calls: ${split[0]} + ${split[1]}`);
    assert.deepEqual(calls, { successful: 200, failed: 0 });
    assertNewInvites(split, [await absorbed(a), await absorbed(b)], 200, "both instances");
    assert.ok(split[0] > 0 && split[1] > 0, `both instances get calls: ${split}`);
  });

  test("REGISTER for an AOR, then a REGISTER query and a MESSAGE to it, reach the same instance", {
    skip,
    timeout: 30_000,
  }, async () => {
    const registrations =
      async () => [await metric(a, "sipecho_registrations"), await metric(b, "sipecho_registrations")];
    for (let i = 1; i <= 8; i++) {
      const aor = `sip:alice${i}@127.0.0.1`;
      const contact = `<sip:alice${i}@192.0.2.${i}:5060>`;
      const before = await registrations();
      const registered = await request(
        socket!,
        proxy,
        req("REGISTER", `sip:127.0.0.1:${proxy}`, aor, `Contact: ${contact}\r\nExpires: 300\r\n`),
      );
      assert.match(registered, /^SIP\/2\.0 200 /, registered);
      const now = await registrations();
      const holder = now[0] > before[0] ? 0 : 1;
      assert.equal(now[holder], before[holder] + 1, `one instance took the binding of ${aor}: ${before} -> ${now}`);
      held[holder].push(i);
      // a query (RFC 3261 §10.2.3: no Contact), with its own Call-ID: answered with the binding
      const query = await request(socket!, proxy, req("REGISTER", `sip:127.0.0.1:${proxy}`, aor, ""));
      assert.match(query, /^SIP\/2\.0 200 /, query);
      assert.ok(
        query.includes(`sip:alice${i}@192.0.2.${i}:5060`),
        `the query for ${aor} sees its binding:\n${query}`,
      );
      // a request to the AOR (a MESSAGE: no probe is one) hashes its Request-URI user: the same instance
      const messages = async () => [await metric(a, MESSAGES), await metric(b, MESSAGES)];
      const sent = await messages();
      const answer = await message(i);
      assert.match(answer, /^SIP\/2\.0 200 /, answer);
      const got = await messages();
      assert.ok(
        got[holder] > sent[holder] && got[1 - holder] === sent[1 - holder],
        `the MESSAGE to ${aor}: ${sent} -> ${got}`,
      );
    }
    console.log(`dispatcher: the bindings of 8 AORs on the instances: ${held[0].length} + ${held[1].length}`);
    assert.ok(held[0].length > 0 && held[1].length > 0, `the AORs are spread too: ${held}`);
  });

  test("one instance stopped: the OPTIONS probes mark it inactive, and 100 more calls all succeed on the other", {
    skip,
    timeout: 60_000,
  }, async () => {
    a.child.kill("SIGTERM");
    await a.exited;
    aStopped = true;
    const stopped = performance.now();
    const uri = `sip:127.0.0.1:${a.port}`;
    // no request is sent meanwhile: only the probes can find it out
    await untilFlags(uri, "I", 15_000);
    console.log(
      `dispatcher: stopped instance marked inactive by the probes after ${Math.round(performance.now() - stopped)} ms`,
    );
    assert.match(kamailioLog, new RegExp(`sipecho instance down: ${uri}`));
    const [before, resentBefore] = [await invites(b), await absorbed(b)];
    assert.deepEqual(await sippCalls(100), { successful: 100, failed: 0 });
    assertNewInvites([await invites(b) - before], [await absorbed(b) - resentBefore], 100, "the running instance");
  });

  test("failover: a request for an AOR of the stopped instance, still marked active, is sent on to the other", {
    skip,
    timeout: 30_000,
  }, async () => {
    assert.ok(held[0].length > 0 && aStopped, "an AOR was bound on the instance now stopped");
    const uri = `sip:127.0.0.1:${a.port}`;
    const user = `alice${held[0][0]}`;
    const failedOver = () =>
      kamailioLog.split(`sipecho instance ${uri} failed MESSAGE for ${user}: trying the next one`).length - 1;
    // marked active again, as before its first probe fails: the request goes to it, times out
    // there (FR_TIMER, 1 s), and failure_route[NEXT_INSTANCE] relays it to the next instance. A
    // probe already on its way may time out between the two and mark it inactive again (the
    // request then goes straight to the other): up to 3 tries for one that fails over.
    for (let attempt = 1;; attempt++) {
      const logged = failedOver();
      await runCommand("kamcmd", ["-s", ctl, "dispatcher.set_state", "ap", "1", uri], 10_000);
      const onB = await metric(b, MESSAGES);
      const sent = performance.now();
      const answer = await message(held[0][0]);
      const took = Math.round(performance.now() - sent);
      assert.match(answer, /^SIP\/2\.0 200 /, answer);
      assert.ok(await metric(b, MESSAGES) > onB, "the MESSAGE reached the running instance");
      // the log line is written before the relay that gets the 200, by the same Kamailio process
      if (failedOver() > logged) {
        console.log(`dispatcher: a MESSAGE for an AOR of the stopped instance answered by the other after ${took} ms`);
        break;
      }
      assert.ok(attempt < 3, `no failover logged in 3 tries:\n${kamailioLog.slice(-3000)}`);
    }
  });
});
