// The TLS tests' certificates (tests/data/tls, see its README) and a node:tls client that frames
// what comes back, as TcpClient does over TCP.
import { readFileSync } from "node:fs";
import tls from "node:tls";
import { StreamFramer } from "../../src/sip/framer.ts";
import type { SipResponse } from "../../src/sip/message.ts";
import { within } from "../_wait.ts";
import { decoder, hostport, Inbox, response } from "./_serve_clients.ts";

const dir = new URL("../data/tls/", import.meta.url);
const read = (name: string) => readFileSync(new URL(name, dir), "utf8");

/** A CA, and a leaf it signed for localhost, 127.0.0.1 and ::1. */
export const TEST_TLS = { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") } as const;
/** `serve()`'s `tls`: the leaf and its key, trusting the CA for the connections it opens. */
export const SERVER_TLS = { cert: TEST_TLS.cert, key: TEST_TLS.key, ca: [TEST_TLS.ca] };

/** A node:tls client trusting `ca`: framed responses, the raw text received, and when the server closes. */
export class TlsClient {
  readonly inbox = new Inbox<SipResponse>();
  readonly socket: tls.TLSSocket;
  raw = "";
  readonly closed: Promise<void>;
  #framer = new StreamFramer();

  private constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    const closed = Promise.withResolvers<void>();
    this.closed = closed.promise;
    socket.on("close", () => closed.resolve());
    socket.on("error", () => {});
    socket.on("data", (d: Uint8Array) => {
      this.raw += decoder.decode(d);
      for (const ev of this.#framer.push(new Uint8Array(d))) {
        if (ev.type === "message") this.inbox.push(response(ev.bytes));
      }
    });
  }

  static async connect(host: string, port: number, ca: string = TEST_TLS.ca): Promise<TlsClient> {
    const socket = tls.connect({ host, port, ca });
    const c = new TlsClient(socket);
    await within(
      new Promise<void>((resolve, reject) => {
        socket.once("secureConnect", resolve);
        socket.once("error", reject);
      }),
      `a TLS connection to ${hostport(host, port)}`,
    );
    return c;
  }

  get port(): number {
    return this.socket.localPort ?? 0;
  }

  write(data: string | Uint8Array): Promise<void> {
    return within(
      new Promise<void>((resolve, reject) => this.socket.write(data, (e) => e ? reject(e) : resolve())),
      "a TLS write",
    );
  }

  next(what: string, match?: (r: SipResponse) => boolean): Promise<SipResponse> {
    return this.inbox.next(`${what} over TLS`, match);
  }

  close(): void {
    this.socket.destroy();
  }
}
