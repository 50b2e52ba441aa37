// The command line's TLS: --tls and --wss without --cert and --key make a certificate at start,
// whose fingerprint the startup line prints and whose CA --tls-ca-out writes; the flags that do
// not go together are refused, naming them.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type CliRuntime, main, parseArgs, UsageError } from "../../src/cli/cli.ts";
import { fingerprint } from "../../src/tls/certificate.ts";
import { hostport, request } from "../net/_serve_clients.ts";
import { TlsClient } from "../net/_tls.ts";

class Exit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

/** Runs main() with a fake runtime that keeps the files written; `during` runs once it is up. */
async function run(
  args: string[],
  opts: {
    write?: (path: string, text: string) => Promise<void>;
    during?: (err: string[], files: Map<string, string>) => Promise<void>;
  } = {},
): Promise<{ code: number; err: string[]; files: Map<string, string> }> {
  const err: string[] = [];
  const files = new Map<string, string>();
  let signal: (() => void) | undefined;
  const started = Promise.withResolvers<void>();
  const rt: CliRuntime = {
    args,
    stdin: () => Promise.resolve(new Uint8Array()),
    readTextFile: (path) => Promise.reject(new Error(`No such file: ${path}`)),
    writeTextFile: opts.write ?? ((path, text) => Promise.resolve(void files.set(path, text))),
    onSignal: (h) => {
      signal = h;
      started.resolve();
    },
    print: () => {},
    printError: (line) => void err.push(line),
    exit: (c: number): never => {
      throw new Exit(c);
    },
  };
  let code = -1;
  const done = main(rt).catch((e) => {
    if (!(e instanceof Exit)) throw e;
    code = e.code;
  });
  await Promise.race([started.promise, done]);
  if (signal !== undefined) {
    try {
      await opts.during?.(err, files);
    } finally {
      signal();
    }
  }
  await done;
  return { code, err, files };
}

describe("the command line over TLS", () => {
  test("flags that do not go together are refused, naming them", () => {
    const refused = (args: string[], message: string) =>
      assert.throws(() => parseArgs(args), { name: UsageError.name, message });
    refused(["--tls", "5061", "--cert", "c.pem"], "--cert needs --key FILE");
    refused(["--tls", "5061", "--key", "k.pem"], "--key needs --cert FILE");
    refused(["--udp", "5060", "--cert", "c.pem", "--key", "k.pem"], "--cert and --key are for --tls and --wss");
    refused(["--udp", "5060", "--tls-ca-out", "ca.pem"], "--tls-ca-out is for --tls and --wss");
    refused(
      ["--tls", "5061", "--cert", "c.pem", "--key", "k.pem", "--tls-ca-out", "ca.pem"],
      "--tls-ca-out writes the CA of a certificate made at start: not with --cert and --key",
    );
    assert.equal(parseArgs(["--wss", "8443", "--tls-ca-out", "ca.pem"]).tlsCaOut, "ca.pem");
    assert.equal(parseArgs(["--tls", "5061"]).cert, undefined);
  });

  test("--tls alone makes a certificate: the startup line prints its fingerprint, --tls-ca-out writes its CA, a client trusting it gets 200", async () => {
    let said = "";
    const { code, files } = await run(["--tls", "127.0.0.1:0", "--no-media", "--quiet", "--tls-ca-out", "out/ca.pem"], {
      async during(err, files) {
        said = err[0];
        const port = Number(/listening on tls 127\.0\.0\.1:(\d+)/.exec(said)?.[1]);
        const ca = files.get("out/ca.pem") ?? "";
        const fp = /TLS certificate made at start, SHA-256 ([0-9A-F:]{95}), its CA in out\/ca\.pem$/.exec(said)?.[1];
        assert.ok(fp !== undefined, said);
        const client = await TlsClient.connect("127.0.0.1", port, ca);
        try {
          await client.write(request({
            method: "OPTIONS",
            server: { host: "127.0.0.1", port },
            transport: "TLS",
            sentBy: hostport("127.0.0.1", client.port),
            branch: "z9hG4bKcli1",
            callId: "cli1",
          }));
          assert.equal((await client.next("200 to OPTIONS")).status, 200);
        } finally {
          client.close();
        }
        assert.notEqual(fp, await fingerprint(ca)); // the leaf's, not the CA's
      },
    });
    assert.equal(code, 0);
    assert.ok(files.get("out/ca.pem")?.startsWith("-----BEGIN CERTIFICATE-----"));
    assert.match(said, /; try sip:echo@127\.0\.0\.1:\d+;transport=tls; seed \d+; TLS certificate made at start/);
  });

  test("a CA file that cannot be written ends the run with status 1, naming the flag and the file", async () => {
    const { code, err } = await run(["--wss", "127.0.0.1:0", "--no-media", "--tls-ca-out", "/nope/ca.pem"], {
      write: () => Promise.reject(new Error("No such file or directory")),
    });
    assert.equal(code, 1);
    assert.deepEqual(err, ["sipecho: --tls-ca-out /nope/ca.pem: cannot write the file: No such file or directory"]);
  });
});
