/**
 * The TLS options of `serve()` ({@linkcode ServeTlsOptions}): the certificate its TLS and WSS
 * listeners present (RFC 3261 §26.3.1), and the CAs it trusts for the TLS connections it opens.
 *
 * @module
 */

import type { ListenSpec } from "./listeners.ts";
import {
  type CertificateOptions,
  DEFAULT_CERTIFICATE_NAMES,
  fingerprint,
  makeCertificate,
} from "../tls/certificate.ts";

/**
 * The certificate of `serve()`'s `tls` and `wss` listeners, PEM.
 *
 * @example
 * ```ts
 * import type { ServeTlsOptions } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const tls: ServeTlsOptions = { cert: "-----BEGIN CERTIFICATE-----...", key: "-----BEGIN PRIVATE KEY-----..." };
 * assert.ok(tls.cert.startsWith("-----BEGIN CERTIFICATE-----"));
 * ```
 */
export interface ServeTlsOptions {
  /** The certificate chain, PEM: the server's own certificate first, then any intermediates. */
  cert: string;
  /** Its private key, PEM. */
  key: string;
  /** The CA certificates (PEM) to trust for the TLS connections `send()` opens; default the system's. */
  ca?: string[];
}

/**
 * `serve()`'s `tls` to make a certificate at start ({@linkcode makeCertificate}): a CA and a
 * leaf it signs, for the names given (default: localhost, 127.0.0.1, ::1, and the addresses of
 * the TLS and WSS listeners and `advertise`). `server.tls` gives the CA to trust and the
 * fingerprint to pin. `"self-signed"` is the same as `{ selfSigned: true }`.
 *
 * @example
 * ```ts
 * import { serve } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using server = await serve({
 *   listen: [{ transport: "tls", hostname: "127.0.0.1", port: 0 }],
 *   tls: { selfSigned: { names: ["127.0.0.1", "sip.example.test"], days: 1 } },
 * });
 * assert.match(server.tls!.fingerprint!, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
 * assert.ok(server.tls!.ca!.startsWith("-----BEGIN CERTIFICATE-----"));
 * ```
 */
export interface SelfSignedTlsOptions {
  /** `true`, or the names, days and common name of the certificate. */
  selfSigned: true | CertificateOptions;
  /** The CA certificates (PEM) to trust for the TLS connections `send()` opens; default the system's. */
  ca?: string[];
}

/** `ServeOptions.tls`: PEM given, or a certificate made at start. */
export type ServeTls = ServeTlsOptions | "self-signed" | SelfSignedTlsOptions;

/**
 * The certificate a server presents on its TLS and WSS listeners (`SipServer.tls`).
 *
 * @example
 * ```ts
 * import { serve, type ServerTls } from "@sipecho/sipecho";
 * import tls from "node:tls";
 * import assert from "node:assert/strict";
 *
 * await using server = await serve({ listen: [{ transport: "tls", hostname: "127.0.0.1", port: 0 }], tls: "self-signed" });
 * const made: ServerTls = server.tls!;
 * assert.equal(made.selfSigned, true);
 * // A client trusts the CA made with it:
 * const socket = tls.connect({ host: "127.0.0.1", port: server.addresses[0].port, ca: made.ca });
 * await new Promise((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
 * assert.equal(socket.getPeerCertificate().fingerprint256, made.fingerprint);
 * socket.destroy();
 * ```
 */
export interface ServerTls {
  /** The certificate chain presented, PEM. */
  readonly cert: string;
  /** The SHA-256 fingerprint of the server's own certificate (the chain's first), colon hex; undefined when it cannot be read. */
  readonly fingerprint: string | undefined;
  /** Whether the certificate was made at start. */
  readonly selfSigned: boolean;
  /** The CA that signed a certificate made at start, PEM: what a client trusts. Undefined for PEM given. */
  readonly ca: string | undefined;
  /** The SHA-256 fingerprint of that CA, colon hex. */
  readonly caFingerprint: string | undefined;
  /** The names a certificate made at start is for. */
  readonly names: readonly string[] | undefined;
  /** When a certificate made at start stops being valid. */
  readonly notAfter: Date | undefined;
}

/**
 * Whom to trust for one TLS connection `SipServer.send()` opens, instead of `tls.ca`: CAs, or
 * the SHA-256 fingerprint of the server's certificate (`TlsConnectOptions.fingerprint`).
 *
 * @example
 * ```ts
 * import type { TlsTrust } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const trust: TlsTrust = { fingerprint: "AB:".repeat(31) + "AB" };
 * assert.equal(trust.fingerprint?.length, 95);
 * ```
 */
export interface TlsTrust {
  /** CA certificates, PEM. */
  ca?: string[];
  /** The SHA-256 fingerprint the server's own certificate must have, colon hex. */
  fingerprint?: string;
}

/** The options of `SipServer.send()`. */
export interface SendOptions {
  /** For a TLS connection it opens: whom to trust. */
  tls?: TlsTrust;
}

/**
 * `ServeOptions.tls` made ready before the listeners bind: a certificate made when asked for.
 *
 * @param tls `ServeOptions.tls`.
 * @param listen Where to listen (its TLS and WSS addresses go in a made certificate).
 * @param advertise `ServeOptions.advertise` (it goes in too).
 * @returns The PEM options for the listeners, and what `server.tls` tells; undefined without `tls`.
 */
export async function _prepareTls(
  tls: ServeTls | undefined,
  listen: readonly ListenSpec[],
  advertise: string | undefined,
): Promise<{ options: ServeTlsOptions; info: ServerTls } | undefined> {
  if (tls === undefined) return undefined;
  if (tls === "self-signed" || (typeof tls === "object" && tls !== null && "selfSigned" in tls)) {
    const asked = tls === "self-signed" ? {} : tls.selfSigned === true ? {} : tls.selfSigned;
    const names = asked.names ?? _defaultNames(listen, advertise);
    const made = await makeCertificate({ ...asked, names });
    const ca = tls === "self-signed" ? undefined : tls.ca;
    return {
      options: { cert: made.cert, key: made.key, ...(ca === undefined ? {} : { ca }) },
      info: {
        cert: made.cert,
        fingerprint: made.fingerprint,
        selfSigned: true,
        ca: made.ca,
        caFingerprint: made.caFingerprint,
        names: made.names,
        notAfter: made.notAfter,
      },
    };
  }
  let leaf: string | undefined;
  try {
    leaf = typeof tls.cert === "string" ? await fingerprint(tls.cert) : undefined;
  } catch {
    leaf = undefined; // not PEM: the listener says so when it binds
  }
  return {
    options: tls,
    info: {
      cert: tls.cert,
      fingerprint: leaf,
      selfSigned: false,
      ca: undefined,
      caFingerprint: undefined,
      names: undefined,
      notAfter: undefined,
    },
  };
}

/** Loopback, and the specific addresses of the TLS and WSS listeners and `advertise`. */
function _defaultNames(listen: readonly ListenSpec[], advertise: string | undefined): string[] {
  const names = new Set(DEFAULT_CERTIFICATE_NAMES);
  const add = (host: string | undefined) => {
    const h = host?.replace(/^\[(.*)\]$/, "$1");
    if (h !== undefined && h !== "" && h !== "0.0.0.0" && h !== "::") names.add(h);
  };
  for (const spec of listen) if (_isTlsSpec(spec)) add(spec.hostname);
  add(advertise);
  return [...names];
}

/** Whether a listen spec is over TLS (`tls`, `wss`). */
export function _isTlsSpec(spec: ListenSpec): boolean {
  return spec.transport === "tls" || spec.transport === "wss";
}

/**
 * Checks the TLS options against the listen specs.
 *
 * @param listen Where to listen.
 * @param tls `ServeOptions.tls`.
 * @returns The options, when a listener needs them.
 * @throws {TypeError} When a TLS listener has no certificate and key.
 */
export function _tlsSettings(
  listen: readonly ListenSpec[],
  tls: ServeTls | undefined,
): ServeTlsOptions | undefined {
  if (tls === "self-signed" || (typeof tls === "object" && tls !== null && "selfSigned" in tls)) {
    throw new TypeError("serve(): a certificate to make (tls.selfSigned) is made by serve(), not here");
  }
  const spec = listen.find(_isTlsSpec);
  if (spec === undefined) return tls;
  if (typeof tls?.cert !== "string" || typeof tls.key !== "string" || tls.cert === "" || tls.key === "") {
    throw new TypeError(
      `serve(): a ${spec.transport} listener needs tls.cert and tls.key (PEM), or tls: "self-signed" to make one`,
    );
  }
  return tls;
}
