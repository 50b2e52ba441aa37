// The live page in a real browser: serve({ http }) on loopback, headless Chromium driven over
// the DevTools protocol (its WebSocket, no npm package), calls placed by SIPp when it is
// installed (else by the mock peer's UAC) after the page has opened, so that they reach it
// through /events. Skipped, with the reason printed, when chromium is not installed.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "../../src/net/serve.ts";
import { MockPeer } from "../../src/testing/mock.ts";
import { skipWhy } from "../_skip.ts";
import { sleep, within } from "../_wait.ts";

/** Waits until the async `condition()` holds, checking every 50 ms, for at most `ms`. */
async function until(condition: () => Promise<boolean>, what: string, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

function installed(tool: string, arg: string): boolean {
  try {
    return spawnSync(tool, [arg], { stdio: "ignore", timeout: 20_000 }).error === undefined;
  } catch {
    return false;
  }
}

const CHROMIUM = ["chromium", "chromium-browser", "google-chrome"].find((c) => installed(c, "--version"));
const HAVE_SIPP = installed("sipp", "-v");

/** A DevTools protocol client over the browser's WebSocket: commands by id, to one page session. */
class DevTools {
  #ws: WebSocket;
  #next = 1;
  #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  session: string | undefined;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener("message", (e) => {
      const reply = JSON.parse(String(e.data));
      const w = reply.id === undefined ? undefined : this.#waiting.get(reply.id);
      if (w === undefined) return;
      this.#waiting.delete(reply.id);
      if (reply.error) w.reject(new Error(`DevTools: ${JSON.stringify(reply.error)}`));
      else w.resolve(reply.result);
    });
  }

  static async connect(url: string): Promise<DevTools> {
    const ws = new WebSocket(url);
    await within(
      new Promise<void>((resolve, reject) => {
        ws.addEventListener("open", () => resolve());
        ws.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)));
      }),
      "the DevTools WebSocket",
    );
    return new DevTools(ws);
  }

  send<T>(method: string, params: Record<string, unknown> = {}, session = this.session): Promise<T> {
    const id = this.#next++;
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
    this.#ws.send(JSON.stringify({ id, method, params, ...(session ? { sessionId: session } : {}) }));
    return within(promise, `DevTools ${method}`, 10_000);
  }

  /** Evaluates an expression in the page; its value (JSON-able). */
  async eval<T>(expression: string): Promise<T> {
    const r = await this.send<{ result: { value: T }; exceptionDetails?: unknown }>("Runtime.evaluate", {
      expression,
      returnByValue: true,
    });
    if (r.exceptionDetails) throw new Error(`in the page: ${JSON.stringify(r.exceptionDetails)}`);
    return r.result.value;
  }

  close(): void {
    this.#ws.close();
  }
}

/** Starts headless Chromium with the DevTools protocol on a free port; its WebSocket URL. */
async function startChromium(profile: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(CHROMIUM!, [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--remote-debugging-port=0",
    `--user-data-dir=${profile}`,
    "about:blank",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  const { promise, resolve } = Promise.withResolvers<string>();
  child.stderr.on("data", (d) => {
    err += d;
    const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
    if (m) resolve(m[1]);
  });
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  const stop = async () => {
    if (child.exitCode === null) {
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    await within(exited, "chromium to exit", 10_000);
  };
  try {
    return { url: await within(promise, `chromium to start (${err.slice(-500)})`, 20_000), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Runs SIPp's built-in uac scenario: `calls` calls to `target`. */
function sippCalls(target: string, calls: number): Promise<number | null> {
  const dir = mkdtempSync(join(tmpdir(), "sipp-live-"));
  const args = ["-sn", "uac", "-m", String(calls), "-r", "10", "-t", "u1", "-i", "127.0.0.1", "-nostdin"];
  args.push("-timeout", "30s", "-timeout_error", target);
  return new Promise((resolve, reject) => {
    const child = spawn("sipp", args, { cwd: dir, stdio: "ignore" });
    const timer = setTimeout(() => child.kill("SIGKILL"), 40_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      resolve(code);
    });
  });
}

describe("the live page in headless Chromium", {
  skip: skipWhy("live page", CHROMIUM ? false : "chromium is not installed (Debian package chromium)"),
}, () => {
  test("the page lists calls made after it opened (via /events) and draws one's ladder: INVITE, 200, BYE, in full", {
    timeout: 60_000,
  }, async () => {
    await using server = await serve({
      listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }],
      http: { port: 0 },
      edge: "lab",
    });
    const base = `http://127.0.0.1:${server.http!.port}`;
    const profile = mkdtempSync(join(tmpdir(), "chromium-live-"));
    const browser = await startChromium(profile);
    let tools: DevTools | undefined;
    try {
      tools = await DevTools.connect(browser.url);
      const { targetId } = await tools.send<{ targetId: string }>("Target.createTarget", { url: `${base}/` });
      tools.session = (await tools.send<{ sessionId: string }>("Target.attachToTarget", { targetId, flatten: true }))
        .sessionId;
      const page = tools;
      // The page is up and follows /events before any call is made.
      await until(
        async () => await page.eval<string>(`document.getElementById("state")?.textContent`) === "live",
        "the page to follow /events",
        15_000,
      );
      assert.equal(await page.eval<number>(`document.querySelectorAll("li.call").length`), 0);

      const calls = 3;
      if (HAVE_SIPP) {
        const { port } = server.addresses[0];
        assert.equal(await sippCalls(`127.0.0.1:${port}`, calls), 0, "sipp: every call successful");
      } else {
        console.log("live page: sipp is not installed; the calls come from the mock peer's UAC");
        await using uac = await MockPeer.start();
        for (let i = 0; i < calls; i++) {
          const call = await uac.request({ method: "INVITE", uri: server.uri("echo"), sdp: true });
          assert.equal((await call.bye()).status, 200);
        }
      }
      const ids = new Set<string>();
      for (const line of (await (await fetch(`${base}/calls`)).json()).calls) ids.add(line.callId);
      assert.equal(ids.size, calls);

      await until(
        async () => await page.eval<number>(`document.querySelectorAll("li.call").length`) === calls,
        "the calls listed on the page",
        15_000,
      );
      const listed = await page.eval<string[]>(
        `[...document.querySelectorAll("li.call")].map((li) => li.dataset.callId)`,
      );
      assert.deepEqual(new Set(listed), ids);

      const [one] = listed;
      await page.eval(
        `[...document.querySelectorAll("li.call")].find((li) => li.dataset.callId === ${JSON.stringify(one)}).click()`,
      );
      const ladder = () =>
        page.eval<string[]>(`[...document.querySelectorAll("#ladder .msg")].map((r) => r.dataset.summary)`);
      await until(async () => (await ladder()).some((s) => s.startsWith("BYE ")), "the BYE on the ladder", 15_000);
      const rows = await ladder();
      const invite = rows.findIndex((s) => s.startsWith("INVITE "));
      const ok = rows.findIndex((s, i) => i > invite && s === "200 OK");
      const bye = rows.findIndex((s, i) => i > ok && s.startsWith("BYE "));
      assert.ok(invite >= 0 && ok > invite && bye > ok, `INVITE, 200, BYE in order: ${rows.join(" | ")}`);
      // Every message in full: the INVITE's headers and its SDP offer, under its arrow.
      const inviteText = await page.eval<string>(
        `document.querySelectorAll("#ladder .msg pre")[${invite}].textContent`,
      );
      assert.match(inviteText, /^INVITE sip:/);
      assert.match(inviteText, /\r?\nCall-ID: /i);
      assert.match(inviteText, /\r?\nm=audio \d+ RTP\/AVP /);
      // The filter: by Call-ID, one call left.
      await page.eval(
        `(() => { const f = document.getElementById("filter"); f.value = ${
          JSON.stringify(one)
        }; f.dispatchEvent(new Event("input")); })()`,
      );
      assert.equal(await page.eval<number>(`document.querySelectorAll("li.call").length`), 1);
    } finally {
      // Closed by the protocol first, so that its helper processes let go of the profile.
      await tools?.send("Browser.close", {}, "").catch(() => {});
      tools?.close();
      await browser.stop();
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    }
  });
});
