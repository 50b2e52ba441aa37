/**
 * A SIP client tested against the mock peer with `deno test` (Deno.test, with its op,
 * resource and exit sanitizers on: the mock leaves nothing behind).
 *
 *     deno test -A examples/mock_deno_test.ts
 *
 * The code under test is `TinyClient` below: it pings a registrar with OPTIONS and registers
 * with REGISTER, over UDP. In a real project it would be imported from your own module.
 */
import assert from "node:assert/strict";
import { mockPeer, MockTimeoutError } from "../mod.ts"; // in your project: from "@sipecho/sipecho"

// `bun test` collects *_test.ts files too; Deno.test exists only on Deno, so on Bun this file
// registers nothing (examples/mock_bun_test.ts is the Bun example).
const test: (name: string, fn: () => Promise<void>) => void = "Deno" in globalThis ? Deno.test : () => {};

// ---------------------------------------------------------------------------------------------
// The code under test

/** A tiny SIP client: one request at a time, the status code of the answer or undefined. */
class TinyClient implements AsyncDisposable {
  #socket: Deno.DatagramConn;
  #pending: Promise<unknown> | undefined;
  #seq = 0;

  constructor(readonly server: { address: string; port: number }, readonly user = "alice") {
    this.#socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  }

  ping(): Promise<number | undefined> {
    return this.#send("OPTIONS", `<sip:${this.server.address}:${this.server.port}>`, "Accept: application/sdp\r\n");
  }

  register(expires: number): Promise<number | undefined> {
    const port = (this.#socket.addr as Deno.NetAddr).port;
    return this.#send(
      "REGISTER",
      `<sip:${this.user}@${this.server.address}>`,
      `Contact: <sip:${this.user}@127.0.0.1:${port}>\r\nExpires: ${expires}\r\n`,
    );
  }

  async #send(method: string, to: string, extra: string): Promise<number | undefined> {
    const port = (this.#socket.addr as Deno.NetAddr).port;
    const id = crypto.randomUUID();
    const text = `${method} sip:${this.server.address}:${this.server.port} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK${id.slice(0, 8)};rport\r\n` +
      `Max-Forwards: 70\r\nFrom: <sip:${this.user}@${this.server.address}>;tag=${id.slice(9, 13)}\r\n` +
      `To: ${to}\r\nCall-ID: ${id}\r\nCSeq: ${++this.#seq} ${method}\r\n${extra}Content-Length: 0\r\n\r\n`;
    await this.#socket.send(new TextEncoder().encode(text), {
      transport: "udp",
      hostname: this.server.address,
      port: this.server.port,
    });
    for (;;) {
      const received = this.#socket.receive();
      this.#pending = received;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), 300));
      const got = await Promise.race([received, timeout]);
      clearTimeout(timer);
      if (got === undefined) return undefined;
      this.#pending = undefined;
      const status = /^SIP\/2\.0 (\d{3}) /.exec(new TextDecoder().decode(got[0]));
      if (status !== null && Number(status[1]) >= 200) return Number(status[1]);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#socket.close();
    await this.#pending?.catch(() => {});
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
