// The TLS tests' certificates (tests/data/tls, see its README) and a node:tls client that frames
// what comes back, as TcpClient does over TCP.
import { readFileSync } from "node:fs";
import tls from "node:tls";
import { within } from "../_wait.ts";
import { hostport, TcpClient } from "./_serve_clients.ts";

const dir = new URL("../data/tls/", import.meta.url);
const read = (name: string) => readFileSync(new URL(name, dir), "utf8");

/** A CA, and a leaf it signed for localhost, 127.0.0.1 and ::1. */
export const TEST_TLS = { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") } as const;
/** `serve()`'s `tls`: the leaf and its key, trusting the CA for the connections it opens. */
export const SERVER_TLS = { cert: TEST_TLS.cert, key: TEST_TLS.key, ca: [TEST_TLS.ca] };

/** A node:tls client trusting `ca`: framed responses, the raw text received, and when the server closes. */
export class TlsClient extends TcpClient {
  static override async connect(host: string, port: number, ca: string = TEST_TLS.ca): Promise<TlsClient> {
    const socket = tls.connect({ host, port, ca });
    const c = new TlsClient(socket, "TLS");
    await within(
      new Promise<void>((resolve, reject) => {
        socket.once("secureConnect", resolve);
        socket.once("error", reject);
      }),
      `a TLS connection to ${hostport(host, port)}`,
    );
    return c;
  }
}
