// sipecho in another project, added from this checkout the way the README's Install section
// says, on Deno, Bun and Node.js 22: a project in a temporary folder, the package added to it,
// a mock-peer test written there and run green, and the command line run through the package.
// Deno runs with --allow-net=127.0.0.1 only and no unstable flag; the copied
// examples/mock_deno_test.ts runs there too. A runtime that cannot be found is skipped, saying why.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { VERSION } from "../src/version.ts";

const CHECKOUT = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
/** Each command's limit, ms: a first `npx -y node@22` may download Node.js. */
const LIMIT = 60_000;

/** The user's test: sipecho imported by its package name, the main entry and two sub-paths. */
const USER_TEST = `import { test } from "node:test";
import assert from "node:assert/strict";
import { mockPeer, MockTimeoutError } from "@sipecho/sipecho";
import { MockTimeoutError as FromMock } from "@sipecho/sipecho/mock";
import { formatUri, parseUri } from "@sipecho/sipecho/message";

test("a callee that is busy", async () => {
  const peer = await mockPeer(); // closed in finally: Node.js 22 has no await using
  try {
    peer.answer("INVITE", 486);
    const call = await peer.request({ method: "INVITE", uri: peer.uri, sdp: true });
    assert.equal(call.status, 486);
    const invite = await peer.waitFor({ method: "INVITE", "Content-Type": "application/sdp" });
    assert.equal(formatUri(parseUri(invite.uri)), peer.uri);
  } finally {
    await peer.close();
  }
});

test("the sub-paths are the same modules as the main entry", () => {
  assert.equal(FromMock, MockTimeoutError);
});
`;

interface Ran {
  code: number | null;
  out: string;
}

/** Runs a command in `cwd`; rejects if it has not ended within LIMIT. */
function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Ran> {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const decoder = new TextDecoder();
  let out = "";
  child.stdout.on("data", (d) => out += decoder.decode(d));
  child.stderr.on("data", (d) => out += decoder.decode(d));
  return new Promise<Ran>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${command} ${args.join(" ")} in ${cwd}: still running after ${LIMIT} ms:\n${out}`));
    }, LIMIT);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** Runs and asserts exit 0, the command and its output in the message otherwise. */
async function ok(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  const r = await run(command, args, cwd, env);
  assert.equal(r.code, 0, `${command} ${args.join(" ")} (in ${cwd}) exited ${r.code}:\n${r.out}`);
  return r.out;
}

/**
 * Starts the command line, resolves with what it printed once it says it is listening, and
 * stops it; rejects with its output if it exits first or says nothing within LIMIT.
 */
function listening(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const decoder = new TextDecoder();
  let out = "";
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => child.kill(), LIMIT);
    const read = (d: Uint8Array) => {
      out += decoder.decode(d);
      if (/ listening on udp 127\.0\.0\.1:\d+/.test(out)) child.kill();
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(timer);
      if (/ listening on /.test(out)) resolve(out);
      else reject(new Error(`${command} ${args.join(" ")} (in ${cwd}) did not start listening:\n${out}`));
    });
  });
}

/** The command line's arguments for the runs below: a rules file, so that it reads one. */
const CLI_ARGS = ["--udp", "127.0.0.1:0", "--rules", `${CHECKOUT}/examples/slow-answer.json`];

/** The first line `command args` prints, or undefined when it cannot be run. */
function probe(command: string, args: string[]): string | undefined {
  const r = spawnSync(command, args, { encoding: "utf8", timeout: LIMIT });
  return r.status === 0 ? r.stdout.trim().split("\n")[0] : undefined;
}

const isDeno = "Deno" in globalThis;
const isBun = "Bun" in globalThis;
const DENO = isDeno ? process.execPath : probe("deno", ["--version"]) && "deno";
const BUN = isBun ? process.execPath : probe("bun", ["--version"]) && "bun";

/**
 * A Node.js of 22.18 or later (it strips types without a flag): `node` on PATH if it is one (and
 * not Bun standing in for it), else the one `npx -y node@22` fetches. Its path, or why there is none.
 */
function findNode(): { node: string } | { why: string } {
  const check = "process.versions.bun || process.versions.deno ? '' : process.versions.node + ' ' + process.execPath";
  const fits = (line: string | undefined) => {
    const [version, path] = (line ?? "").split(" ");
    const [major, minor] = (version ?? "").split(".").map(Number);
    return major > 22 || (major === 22 && minor >= 18) ? path : undefined;
  };
  const onPath = fits(probe("node", ["-p", check]));
  if (onPath !== undefined) return { node: onPath };
  if (probe("npx", ["--version"]) === undefined) return { why: "no Node.js 22.18 or later on PATH, and no npx" };
  const fetched = fits(probe("npx", ["-y", "node@22", "-p", check]));
  return fetched !== undefined ? { node: fetched } : { why: "`npx -y node@22` gave no Node.js 22.18 or later" };
}

/** The reason a part is skipped, printed so that the runner's output shows it. */
function skipping(why: string | false): string | false {
  if (why !== false) console.log(`tests/package_test.ts: skipped: ${why}`);
  return why;
}

describe("sipecho added to another project", () => {
  let root = "";
  before(() => {
    root = mkdtempSync(join(tmpdir(), "sipecho-project-"));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** A fresh project folder for one runtime, holding the user's test. */
  function project(name: string): string {
    const dir = join(root, name);
    mkdirSync(dir);
    writeFileSync(join(dir, "sip_test.ts"), USER_TEST);
    return dir;
  }

  test(
    "Deno: a deno.json that links the checkout; the tests pass with --allow-net=127.0.0.1 only",
    { skip: skipping(DENO ? false : "deno is not on PATH"), timeout: 2 * LIMIT },
    async () => {
      const dir = project("deno");
      // README, Install: the package by its JSR name, the name resolved to the linked checkout.
      const config = { imports: { "@sipecho/sipecho": `jsr:@sipecho/sipecho@^${VERSION}` }, links: [CHECKOUT] };
      writeFileSync(join(dir, "deno.json"), JSON.stringify(config, null, 2));
      // The Deno example as a user copies it: importing the package, not ../mod.ts.
      const example = readFileSync(new URL("../examples/mock_deno_test.ts", import.meta.url), "utf8");
      assert.match(example, /from "\.\.\/mod\.ts"; \/\/ in your project: from "@sipecho\/sipecho"/);
      writeFileSync(join(dir, "mock_deno_test.ts"), example.replace('"../mod.ts"', '"@sipecho/sipecho"'));
      const out = await ok(DENO!, ["test", "--allow-net=127.0.0.1", "sip_test.ts", "mock_deno_test.ts"], dir);
      assert.match(out, /^ok \| 7 passed \| 0 failed/m);
      // The command line, with the permissions the README gives it.
      await listening(DENO!, ["run", "--allow-net", "--allow-read", `${CHECKOUT}/mod.ts`, ...CLI_ARGS], dir);
    },
  );

  test(
    "Bun: bun add <checkout>; bun test passes, bunx sipecho runs the command line",
    { skip: skipping(BUN ? false : "bun is not on PATH"), timeout: 2 * LIMIT },
    async () => {
      const dir = project("bun");
      writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "app", private: true }));
      await ok(BUN!, ["add", CHECKOUT], dir);
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      assert.equal(pkg.dependencies["@sipecho/sipecho"], CHECKOUT);
      const out = await ok(BUN!, ["test", "./sip_test.ts"], dir);
      assert.match(out, /^ *2 pass\n *0 fail/m);
      // bunx runs the bin on Bun (bin/sipecho: Bun names itself in npm_config_user_agent).
      const env = { PATH: `${dirname(BUN!)}${delimiter}${process.env.PATH}` };
      assert.equal((await ok(BUN!, ["x", "sipecho", "--version"], dir, env)).trim(), `sipecho ${VERSION}`);
      await listening(BUN!, ["x", "sipecho", ...CLI_ARGS], dir, env);
    },
  );

  const found = findNode();
  test(
    "Node.js 22: npm install <checkout>; node --test passes, npx sipecho runs the command line",
    { skip: skipping("why" in found ? found.why : false), timeout: 2 * LIMIT },
    async () => {
      const node = (found as { node: string }).node;
      const dir = project("node");
      writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
      // That Node.js first on PATH: npm, npx and the bin's `node` are then it.
      const env = { PATH: `${dirname(node)}${delimiter}${process.env.PATH}` };
      await ok("npm", ["install", "--no-audit", "--no-fund", CHECKOUT], dir, env);
      const out = await ok(node, ["--test", "sip_test.ts"], dir, env);
      assert.match(out, /^# pass 2\n# fail 0/m);
      assert.equal((await ok("npx", ["sipecho", "--version"], dir, env)).trim(), `sipecho ${VERSION}`);
      await listening(node, [`${CHECKOUT}/mod.ts`, ...CLI_ARGS], dir, env);
    },
  );
});
