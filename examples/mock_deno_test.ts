/**
 * A SIP client tested against the mock peer with `deno test` (Deno.test, with its op,
 * resource and exit sanitizers on: the mock leaves nothing behind).
 *
 *     deno test --allow-net examples/mock_deno_test.ts
 *
 * The code under test is `TinyClient` below: it pings a registrar with OPTIONS and registers
 * with REGISTER, over UDP. In a real project it would be imported from your own module. It
 * uses `node:dgram`, which Deno has without the `--unstable-net` flag that `Deno.listenDatagram`
 * needs: copied into another project, this file runs as it is.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { mockPeer, MockTimeoutError } from "../mod.ts"; // in your project: from "@sipecho/sipecho"

// `bun test` collects *_test.ts files too; Deno.test exists only on Deno, so on Bun this file
// registers nothing (examples/mock_bun_test.ts is the Bun example).
const test: (name: string, fn: () => Promise<void>) => void = "Deno" in globalThis ? Deno.test : () => {};

// ---------------------------------------------------------------------------------------------
// The code under test

/** A tiny SIP client: one request at a time, the status code of the answer or undefined. */
class TinyClient implements AsyncDisposable {
  readonly server: { address: string; port: number };
  readonly user: string;
  #socket = dgram.createSocket("udp4");
  #bound: Promise<void>;
  /** Called with each datagram received while a request waits. */
  #onResponse: ((text: string) => void) | undefined;
  #seq = 0;

  constructor(server: { address: string; port: number }, user = "alice") {
    this.server = server;
    this.user = user;
    this.#bound = new Promise((resolve) => this.#socket.bind(0, "127.0.0.1", resolve));
    this.#socket.on("message", (data) => this.#onResponse?.(new TextDecoder().decode(data)));
  }

  ping(): Promise<number | undefined> {
    return this.#send("OPTIONS", `<sip:${this.server.address}:${this.server.port}>`, "Accept: application/sdp\r\n");
  }

  async register(expires: number): Promise<number | undefined> {
    await this.#bound;
    const port = this.#socket.address().port;
    return this.#send(
      "REGISTER",
      `<sip:${this.user}@${this.server.address}>`,
      `Contact: <sip:${this.user}@127.0.0.1:${port}>\r\nExpires: ${expires}\r\n`,
    );
  }

  async #send(method: string, to: string, extra: string): Promise<number | undefined> {
    await this.#bound;
    const port = this.#socket.address().port;
    const id = crypto.randomUUID();
    const text = `${method} sip:${this.server.address}:${this.server.port} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK${id.slice(0, 8)};rport\r\n` +
      `Max-Forwards: 70\r\nFrom: <sip:${this.user}@${this.server.address}>;tag=${id.slice(9, 13)}\r\n` +
      `To: ${to}\r\nCall-ID: ${id}\r\nCSeq: ${++this.#seq} ${method}\r\n${extra}Content-Length: 0\r\n\r\n`;
    // The first final response (a provisional one is skipped), or undefined after 300 ms.
    const answered = new Promise<number | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), 300);
      this.#onResponse = (response) => {
        const status = /^SIP\/2\.0 (\d{3}) /.exec(response);
        if (status === null || Number(status[1]) < 200) return;
        clearTimeout(timer);
        resolve(Number(status[1]));
      };
    });
    this.#socket.send(text, this.server.port, this.server.address);
    try {
      return await answered;
    } finally {
      this.#onResponse = undefined;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#bound;
    await new Promise<void>((resolve) => this.#socket.close(resolve));
  }
}

// ---------------------------------------------------------------------------------------------
// The tests: one mock peer per test, closed by `await using`

test("TinyClient pings with a well-formed OPTIONS", async () => {
  await using peer = await mockPeer();
  await using client = new TinyClient(peer.addresses[0]);
  assert.equal(await client.ping(), 200);
  const options = await peer.waitFor("OPTIONS");
  assert.equal(options.maxForwards, 70);
  assert.match(options.via[0].branch ?? "", /^z9hG4bK/);
  assert.ok(options.from.tag);
});

test("TinyClient registers its Contact for the time asked", async () => {
  await using peer = await mockPeer();
  await using client = new TinyClient(peer.addresses[0]);
  assert.equal(await client.register(600), 200);
  const register = await peer.waitFor({ method: "REGISTER", Expires: "600" });
  assert.equal(register.to.uri, `sip:alice@127.0.0.1`);
  // The mock's registrar kept the binding.
  const [binding] = peer.server.peer.bindings();
  assert.equal(binding.aor, "sip:alice@127.0.0.1");
});

test("TinyClient reports a refused registration", async () => {
  await using peer = await mockPeer();
  peer.answer("REGISTER", { respond: { status: 403, reason: "Forbidden" } });
  await using client = new TinyClient(peer.addresses[0]);
  assert.equal(await client.register(600), 403);
  // The answer was used once: the next REGISTER gets the registrar again.
  assert.equal(await client.register(0), 200);
});

test("TinyClient gives up on a server that never answers", async () => {
  await using peer = await mockPeer();
  peer.answer("OPTIONS", { silent: true }, { times: Infinity });
  await using client = new TinyClient(peer.addresses[0]);
  assert.equal(await client.ping(), undefined);
  assert.deepEqual(peer.sent, []);
});

test("a failing wait shows the traffic as a ladder diagram", async () => {
  await using peer = await mockPeer();
  await using client = new TinyClient(peer.addresses[0]);
  await client.ping();
  await assert.rejects(peer.waitFor("REGISTER", { timeout: 50 }), (e) => {
    assert.ok(e instanceof MockTimeoutError);
    assert.match(e.message, /\|<-- OPTIONS sip:127\.0\.0\.1:\d+ SIP\/2\.0 -+\| 127\.0\.0\.1:\d+ udp/);
    assert.match(e.message, /\|--- SIP\/2\.0 200 OK -+>\|/);
    return true;
  });
});
