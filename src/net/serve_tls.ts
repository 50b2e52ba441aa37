/**
 * The TLS options of `serve()` ({@linkcode ServeTlsOptions}): the certificate its TLS and WSS
 * listeners present (RFC 3261 §26.3.1), and the CAs it trusts for the TLS connections it opens.
 *
 * @module
 */

import type { ListenSpec } from "./listeners.ts";

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
  tls: ServeTlsOptions | undefined,
): ServeTlsOptions | undefined {
  const spec = listen.find(_isTlsSpec);
  if (spec === undefined) return tls;
  if (typeof tls?.cert !== "string" || typeof tls.key !== "string" || tls.cert === "" || tls.key === "") {
    throw new TypeError(`serve(): a ${spec.transport} listener needs tls.cert and tls.key (PEM)`);
  }
  return tls;
}
