import { test } from "node:test";
import assert from "node:assert/strict";
import { main } from "../src/cli.ts";

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

async function run(args: string[], stdin = ""): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  let code = 0;
  try {
    await main({
      args,
      stdin: () => Promise.resolve(new TextEncoder().encode(stdin)),
      exit: (c: number): never => {
        throw new Exit(c);
      },
    });
  } catch (e) {
    if (!(e instanceof Exit)) throw e;
    code = e.code;
  } finally {
    console.log = log;
    console.error = error;
  }
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const OPTIONS = "OPTIONS sip:echo@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\r\n" +
  "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:echo@127.0.0.1>\r\nCall-ID: 1@a\r\nCSeq: 1 OPTIONS\r\n\r\n";

test("main() prints a parsed message as JSON", async () => {
  const { code, out } = await run([], OPTIONS);
  assert.equal(code, 0);
  const json = JSON.parse(out);
  assert.equal(json.method, "OPTIONS");
  assert.deepEqual(json.cseq, { seq: 1, method: "OPTIONS" });
  assert.equal(json.via[0].branch, "z9hG4bK1");
});

test("main() exits 1 on a rejected message, naming the reason, offset and status", async () => {
  const { code, err } = await run([], "OPTIONS sip:a@b SIP/3.0\r\n\r\n");
  assert.equal(code, 1);
  assert.equal(err, 'sipecho: SIP-Version "SIP/3.0" is not supported (only SIP/2.0) (byte 16; a UAS answers 505)');
});

test("main() exits 2 on an unknown flag and 0 on --help", async () => {
  const bad = await run(["--bogus"]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^sipecho: unknown argument "--bogus"/);
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /^sipecho 0\.1\.0/);
});
