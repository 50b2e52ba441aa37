// ConnectionTable (src/connections.ts) with fake connections: shares, eviction, deadlines,
// backpressure and WebSocket framing, without sockets. The deadlines run on real timers with
// limits of a few tens of ms; the tests wait for outcomes, never assert durations.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type Connection, type ConnectionLimits, ConnectionTable } from "../../src/net/connections.ts";
import { SourceGuard } from "../../src/ua/guard.ts";
import type { SocketAddress, StreamConnection } from "../../src/net/transport.ts";
import { sleep, until } from "../_wait.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A stream connection as a shim gives it, recording what the table does with it. */
interface FakeConnection extends StreamConnection {
  readonly written: Uint8Array[];
  closed: number;
  ended: number;
  paused: number;
  resumed: number;
  /** What waits to be written: set by the test. */
  buffered: number;
}

function fake(address: string, port: number): FakeConnection {
  const conn: FakeConnection = {
    remote: { address, port },
    written: [],
    closed: 0,
    ended: 0,
    paused: 0,
    resumed: 0,
    buffered: 0,
    write: (data) => void conn.written.push(data),
    close: () => void conn.closed++,
    end: () => void conn.ended++,
    pause: () => void conn.paused++,
    resume: () => void conn.resumed++,
  };
  return conn;
}

type Event = [kind: string, message: string, remote: SocketAddress & { transport: string }];

interface Setup {
  limits?: Partial<ConnectionLimits>;
  guard?: SourceGuard;
  now?: () => number;
  maxMessageSize?: number;
  /** Called with each message after it is recorded. */
  onMessage?: (text: string, connection: Connection) => void;
}

/** A table with every deadline off unless the test turns it on. */
function setup(o: Setup = {}) {
  const messages: string[] = [];
  const events: Event[] = [];
  const table = new ConnectionTable({
    limits: { idleTimeout: 0, messageTimeout: 0, writeTimeout: 0, ...o.limits },
    maxMessageSize: o.maxMessageSize ?? 65535,
    guard: o.guard,
    now: o.now,
    onMessage: (bytes, connection) => {
      const text = decoder.decode(bytes);
      messages.push(text);
      o.onMessage?.(text, connection);
    },
    onEvent: (kind, message, remote) => void events.push([kind, message, remote]),
  });
  return { table, tcp: table.handlers("tcp"), ws: table.handlers("ws"), messages, events };
}

/** A whole SIP message, told apart by its Request-URI user. */
function message(user: string): string {
  return `OPTIONS sip:${user}@192.0.2.1 SIP/2.0\r\nContent-Length: 0\r\n\r\n`;
}

function firstLine(text: string): string {
  return text.slice(0, text.indexOf("\r\n"));
}

describe("ConnectionTable shares and eviction", () => {
  test("ConnectionTable with a guard closes a new connection of a source that holds its share of maxConnections", async () => {
    const guard = new SourceGuard({ share: 0.5 });
    const { table, tcp, events } = setup({ guard, limits: { maxConnections: 4 } });
    const [a1, a2, a3] = [40001, 40002, 40003].map((port) => fake("192.0.2.9", port));
    tcp.open(a1);
    tcp.open(a2);
    tcp.open(a3);
    assert.deepEqual([a1.closed, a2.closed, a3.closed], [0, 0, 1]);
    assert.deepEqual(events, [[
      "limit",
      "share: 192.0.2.9 holds its share of the connections (2): closing a new tcp connection",
      { address: "192.0.2.9", port: 40003, transport: "tcp" },
    ]]);
    // Another source still gets in. An IPv6 /64 is one source: two of its hosts fill its share.
    const b = fake("2001:db8:1:2::1", 40000);
    tcp.open(b);
    assert.equal(b.closed, 0);
    const b2 = fake("2001:db8:1:2::99", 40000);
    tcp.open(b2);
    assert.equal(b2.closed, 0);
    const b3 = fake("2001:db8:1:2::5", 40000);
    tcp.open(b3);
    assert.equal(b3.closed, 1, "one source: the /64");
    assert.equal(table.size, 4);
    const held = guard.peek("192.0.2.9")!.held;
    assert.equal(held.connections, 2);
    // Closed by the other side: its entry goes back.
    tcp.close(a1);
    assert.equal(held.connections, 1);
    const a4 = fake("192.0.2.9", 40004);
    tcp.open(a4);
    assert.equal(a4.closed, 0);
    assert.equal(held.connections, 2);
    await table.closeAll();
    assert.equal(held.connections, 0);
  });

  test("ConnectionTable when full closes the least recently active connection of the source that holds the most", async () => {
    let clock = 0;
    const { table, tcp, events } = setup({
      guard: new SourceGuard({ share: 1 }),
      limits: { maxConnections: 3 },
      now: () => clock,
    });
    const b1 = fake("203.0.113.5", 40000);
    const a1 = fake("192.0.2.9", 40001);
    const a2 = fake("192.0.2.9", 40002);
    tcp.open(b1);
    clock = 1;
    tcp.open(a1);
    clock = 2;
    tcp.open(a2);
    clock = 3;
    tcp.data(a1, encoder.encode(message("a1")));
    clock = 4;
    const c = fake("198.51.100.7", 40000);
    tcp.open(c);
    // b1 is the oldest, but its source holds one; of the two of 192.0.2.9, a2 was idle longest.
    assert.deepEqual([b1.closed, a1.closed, a2.closed, c.closed], [0, 0, 1, 0]);
    assert.deepEqual(events, [[
      "limit",
      "connection table full (3): closing the oldest idle connection of 192.0.2.9 (2 open) for a new tcp " +
      "connection from 198.51.100.7",
      { address: "192.0.2.9", port: 40002, transport: "tcp" },
    ]]);
    assert.deepEqual(table.connections().map((x) => x.conn), [b1, a1, c]);
    await table.closeAll();
  });

  test("ConnectionTable without a guard counts sources by address when it evicts", async () => {
    const { table, tcp } = setup({ limits: { maxConnections: 2 } });
    const a = fake("192.0.2.9", 40001);
    const a2 = fake("192.0.2.9", 40002);
    const b = fake("203.0.113.5", 40000);
    tcp.open(a);
    tcp.open(a2);
    tcp.open(b);
    assert.equal(a.closed + a2.closed, 1);
    assert.equal(b.closed, 0);
    await table.closeAll();
  });
});

describe("ConnectionTable message deadline (messageTimeout)", () => {
  test("ConnectionTable closes a connection that sends nothing within messageTimeout of opening", async () => {
    const { table, tcp, events } = setup({ limits: { messageTimeout: 50 } });
    const conn = fake("192.0.2.9", 40000);
    tcp.open(conn);
    await until(() => conn.closed > 0, "the close");
    assert.deepEqual(events, [[
      "dropped",
      "closing the tcp connection: no whole message within 50 ms of opening (messageTimeout)",
      { address: "192.0.2.9", port: 40000, transport: "tcp" },
    ]]);
    assert.equal(table.size, 0);
    await table.closeAll();
  });

  test("ConnectionTable closes a connection whose first message is not whole within messageTimeout", async () => {
    const { table, tcp, events, messages } = setup({ limits: { messageTimeout: 50 } });
    const conn = fake("192.0.2.9", 40000);
    tcp.open(conn);
    tcp.data(conn, encoder.encode("OPTIONS sip:slow@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.9"));
    await until(() => conn.closed > 0, "the close");
    assert.deepEqual(messages, []);
    assert.deepEqual(events.map(([kind, text]) => [kind, text]), [[
      "dropped",
      "closing the tcp connection: no whole message within 50 ms of opening (messageTimeout)",
    ]]);
    await table.closeAll();
  });

  test("ConnectionTable closes a connection that sends half a message after a whole one", async () => {
    const { table, tcp, events, messages } = setup({ limits: { messageTimeout: 50 } });
    const conn = fake("192.0.2.9", 40000);
    tcp.open(conn);
    const half = message("second").slice(0, 20);
    tcp.data(conn, encoder.encode(message("first") + half));
    await until(() => conn.closed > 0, "the close");
    assert.deepEqual(messages.map(firstLine), ["OPTIONS sip:first@192.0.2.1 SIP/2.0"]);
    assert.deepEqual(events.map(([kind, text]) => [kind, text]), [[
      "dropped",
      "closing the tcp connection: a message not completed within 50 ms (messageTimeout)",
    ]]);
    // Whatever it sends once closed is ignored.
    tcp.data(conn, encoder.encode(message("second").slice(20)));
    assert.equal(messages.length, 1);
    await table.closeAll();
  });

  test("ConnectionTable keeps a connection whose every message is whole within messageTimeout of its first byte", async () => {
    const { table, tcp, events, messages } = setup({ limits: { messageTimeout: 150 } });
    const conn = fake("192.0.2.9", 40000);
    tcp.open(conn);
    for (const user of ["one", "two", "three"]) {
      const text = message(user);
      tcp.data(conn, encoder.encode(text.slice(0, 25)));
      await sleep(20);
      tcp.data(conn, encoder.encode(text.slice(25)));
      await sleep(20);
    }
    // Well past messageTimeout from opening, and from the first byte of the first message.
    await sleep(250);
    assert.equal(conn.closed, 0);
    assert.deepEqual(events, []);
    assert.deepEqual(messages.map(firstLine), ["one", "two", "three"].map((u) => `OPTIONS sip:${u}@192.0.2.1 SIP/2.0`));
    assert.equal(table.size, 1);
    await table.closeAll();
    assert.equal(conn.closed, 1);
  });
});

describe("ConnectionTable backpressure (maxOutput, writeTimeout)", () => {
  test("ConnectionTable stops handling a connection's messages while its output is over maxOutput, and resumes on drain", async () => {
    const conn = fake("192.0.2.9", 40000);
    const { table, tcp, messages } = setup({
      limits: { maxOutput: 10 },
      // The answer to the first message is not read by the other side.
      onMessage: (text) => {
        if (text.includes("sip:m1@")) conn.buffered = 100;
      },
    });
    tcp.open(conn);
    tcp.data(conn, encoder.encode(message("m1") + message("m2") + message("m3")));
    assert.deepEqual(messages.map(firstLine), ["OPTIONS sip:m1@192.0.2.1 SIP/2.0"]);
    assert.equal(conn.paused, 1);
    // What still arrives is kept, not handled.
    tcp.data(conn, encoder.encode(message("m4")));
    assert.equal(messages.length, 1);
    assert.equal(conn.paused, 1);
    // A drain while more than half of maxOutput still waits changes nothing.
    conn.buffered = 6;
    tcp.drain!(conn);
    assert.equal(messages.length, 1);
    assert.equal(conn.resumed, 0);
    // Drained: the held messages in order, then reading again.
    conn.buffered = 0;
    tcp.drain!(conn);
    assert.deepEqual(
      messages.map(firstLine),
      ["m1", "m2", "m3", "m4"].map((u) => `OPTIONS sip:${u}@192.0.2.1 SIP/2.0`),
    );
    assert.equal(conn.resumed, 1);
    assert.equal(conn.closed, 0);
    await table.closeAll();
  });

  test("ConnectionTable pauses again during a drain when the output fills up again", async () => {
    const conn = fake("192.0.2.9", 40000);
    const { table, tcp, messages } = setup({ limits: { maxOutput: 10 }, onMessage: () => void (conn.buffered = 100) });
    tcp.open(conn);
    tcp.data(conn, encoder.encode(message("m1") + message("m2") + message("m3")));
    conn.buffered = 0;
    tcp.drain!(conn);
    assert.equal(messages.length, 2, "one more, then full again");
    assert.deepEqual([conn.paused, conn.resumed], [2, 0]);
    // The last one handled: nothing is waiting, so reading resumes.
    conn.buffered = 0;
    tcp.drain!(conn);
    assert.equal(messages.length, 3);
    assert.deepEqual([conn.paused, conn.resumed], [2, 1]);
    await table.closeAll();
  });

  test("ConnectionTable closes a connection whose output stays over maxOutput for writeTimeout", async () => {
    const { table, tcp, events, messages } = setup({ limits: { maxOutput: 10, writeTimeout: 50 } });
    const conn = fake("192.0.2.9", 40000);
    conn.buffered = 100;
    tcp.open(conn);
    tcp.data(conn, encoder.encode(message("m1")));
    assert.equal(conn.paused, 1);
    await until(() => conn.closed > 0, "the close");
    assert.deepEqual(messages, []);
    assert.deepEqual(events.map(([kind, text]) => [kind, text]), [[
      "dropped",
      "closing the tcp connection: its peer has not read for 50 ms (writeTimeout)",
    ]]);
    assert.equal(table.size, 0);
    await table.closeAll();
  });

  test("ConnectionTable closes a paused connection that keeps sending past maxMessageSize + maxOutput", async () => {
    const { table, tcp, events } = setup({ maxMessageSize: 200, limits: { maxOutput: 10 } });
    const conn = fake("192.0.2.9", 40000);
    conn.buffered = 100;
    tcp.open(conn);
    tcp.data(conn, encoder.encode(message("m1")));
    tcp.data(conn, new Uint8Array(150).fill(0x41));
    tcp.data(conn, new Uint8Array(60).fill(0x41));
    assert.equal(conn.closed, 0, "210 bytes kept: within the bound");
    tcp.data(conn, new Uint8Array(1).fill(0x41));
    assert.equal(conn.closed, 1);
    assert.deepEqual(events.map(([kind, text]) => [kind, text]), [[
      "dropped",
      "closing the tcp connection: it keeps sending while it does not read",
    ]]);
    assert.equal(table.size, 0);
    await table.closeAll();
  });
});

// --- A WebSocket client, written here (see tests/websocket_test.ts for the codec itself) ---

const MASK = [0x37, 0xfa, 0x21, 0x3d];

function upgradeRequest(): string {
  return "GET /ws HTTP/1.1\r\nHost: sip.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: sip\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

/** A client text frame (RFC 6455 §5.2), masked unless told, payload under 126 bytes. */
function clientFrame(text: string, masked = true): Uint8Array {
  const data = encoder.encode(text);
  assert.ok(data.length < 126);
  const header = [0x81, (masked ? 0x80 : 0) | data.length, ...(masked ? MASK : [])];
  const frame = new Uint8Array(header.length + data.length);
  frame.set(header);
  for (let i = 0; i < data.length; i++) frame[header.length + i] = masked ? data[i] ^ MASK[i & 3] : data[i];
  return frame;
}

describe("ConnectionTable WebSocket connections", () => {
  test("ConnectionTable answers the WebSocket handshake, hands on each message, frames what is written, and ends on a protocol error", async () => {
    let connection: Connection | undefined;
    const { table, ws, messages, events } = setup({ onMessage: (_text, c) => void (connection = c) });
    const conn = fake("192.0.2.9", 40000);
    ws.open(conn);
    ws.data(conn, encoder.encode(upgradeRequest()));
    assert.equal(conn.written.length, 1);
    const handshake = decoder.decode(conn.written[0]);
    assert.match(handshake, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(handshake, /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/);
    assert.match(handshake, /\r\nSec-WebSocket-Protocol: sip\r\n/);
    // One SIP message per WebSocket message (RFC 7118 §5).
    const sip = "OPTIONS sip:echo@192.0.2.1 SIP/2.0\r\nContent-Length: 0\r\n\r\n";
    ws.data(conn, clientFrame(sip));
    assert.deepEqual(messages, [sip]);
    assert.equal(connection?.transport, "ws");
    assert.equal(connection?.conn, conn);
    // An answer written on it goes out as one unmasked text frame.
    const answer = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
    assert.equal(table.write(connection!, encoder.encode(answer)), true);
    const frame = conn.written[1];
    assert.deepEqual([...frame.subarray(0, 2)], [0x81, answer.length]);
    assert.equal(decoder.decode(frame.subarray(2)), answer);
    // An unmasked client frame: close 1002, and the connection ends once that is written.
    ws.data(conn, clientFrame("x", false));
    const close = conn.written[2];
    assert.deepEqual([...close.subarray(0, 4)], [0x88, close.length - 2, 1002 >> 8, 1002 & 0xff]);
    assert.equal(decoder.decode(close.subarray(4)), "unmasked client frame (RFC 6455 §5.1)");
    assert.deepEqual([conn.ended, conn.closed], [1, 0]);
    assert.deepEqual(events, [[
      "dropped",
      "closing the ws connection: close 1002: unmasked client frame (RFC 6455 §5.1)",
      { address: "192.0.2.9", port: 40000, transport: "ws" },
    ]]);
    assert.equal(table.size, 0);
    assert.equal(table.write(connection!, encoder.encode(answer)), false, "closed: nothing written");
    assert.equal(conn.written.length, 3);
    await table.closeAll();
  });

  test("ConnectionTable answers a client's close handshake and ends without a dropped event", async () => {
    const { table, ws, events } = setup();
    const conn = fake("192.0.2.9", 40000);
    ws.open(conn);
    ws.data(conn, encoder.encode(upgradeRequest()));
    const close = new Uint8Array([0x88, 0x82, ...MASK, (1000 >> 8) ^ MASK[0], (1000 & 0xff) ^ MASK[1]]);
    ws.data(conn, close);
    assert.deepEqual([...conn.written[1]], [0x88, 2, 1000 >> 8, 1000 & 0xff]);
    assert.deepEqual([conn.ended, conn.closed], [1, 0]);
    assert.deepEqual(events, []);
    assert.equal(table.size, 0);
    await table.closeAll();
  });

  test("ConnectionTable closes a WebSocket connection whose handshake does not come within messageTimeout", async () => {
    const { table, ws, events } = setup({ limits: { messageTimeout: 50 } });
    const conn = fake("192.0.2.9", 40000);
    ws.open(conn);
    ws.data(conn, encoder.encode(upgradeRequest().slice(0, 30)));
    await until(() => conn.closed > 0, "the close");
    assert.deepEqual(events.map(([kind, text]) => [kind, text]), [[
      "dropped",
      "closing the ws connection: no whole message within 50 ms of opening (messageTimeout)",
    ]]);
    await table.closeAll();
  });
});

describe("ConnectionTable and the rate limit", () => {
  test("ConnectionTable closes a connection once its source is banned for going over the rate, after what it wrote", async () => {
    const guard = new SourceGuard({ rate: 2, burst: 2, ban: 60_000 });
    let now = 0;
    // The peer's part: each message is admitted by the guard (the third goes over and bans).
    const { table, tcp, messages, events } = setup({
      guard,
      now: () => now,
      onMessage: (_text, connection) => void guard.admit(connection.source!, now),
    });
    const conn = fake("192.0.2.9", 40000);
    tcp.open(conn);
    tcp.data(conn, encoder.encode(message("a") + message("b") + message("c")));
    assert.deepEqual(messages.map(firstLine), ["a", "b", "c"].map((u) => `OPTIONS sip:${u}@192.0.2.1 SIP/2.0`));
    assert.equal(guard.peek("192.0.2.9")!.bannedUntil, 60_000);
    // What comes after the ban is not handed on: the connection ends once its 503 is written.
    now = 10;
    tcp.data(conn, encoder.encode(message("d")));
    assert.equal(messages.length, 3);
    assert.deepEqual([conn.ended, conn.closed], [1, 0]);
    assert.deepEqual(events.map(([kind, text]) => [kind, text]), [
      ["limit", "closing the tcp connection: 192.0.2.9 is over the rate limit"],
    ]);
    assert.equal(table.size, 0);
    await table.closeAll();
  });
});
