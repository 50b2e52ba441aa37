/**
 * The mock UAC's answers to digest challenges (RFC 3261 §22.2, §22.3): a 401 or 407 to a
 * request sent with credentials is answered once per realm by a {@linkcode DigestClient} of
 * src/auth, with the request sent again: CSeq one more, a new branch, the Authorization (or
 * Proxy-Authorization) added. A challenge with `stale=true` is answered once more.
 *
 * @module
 */

import { DigestClient } from "../../auth/digest_client.ts";
import { parseChallenge } from "../../auth/parse_digest.ts";
import { SipRequest, type SipResponse } from "../../sip/message.ts";
import { _random } from "./requests.ts";

/**
 * The credentials the mock's UAC answers challenges with (see `RequestOptions.credentials`).
 *
 * @example
 * ```ts
 * import type { UacCredentials } from "@sipecho/sipecho/mock";
 * const alice: UacCredentials = { username: "alice", password: "secret", realm: "pbx.example.com" };
 * ```
 */
export interface UacCredentials {
  /** The user name. */
  username: string;
  /** The password. */
  password: string;
  /** Answer only challenges of this realm (default: any realm). */
  realm?: string;
}

/** What one request's answers to challenges remember: the client (its nonce counts) and the realms answered. */
export class _UacAuth {
  readonly #client: DigestClient;
  readonly #realm: string | undefined;
  /** Realm: how many times answered (a second time only after `stale=true`). */
  readonly #answered = new Map<string, number>();

  constructor(credentials: UacCredentials) {
    if (typeof credentials.username !== "string" || typeof credentials.password !== "string") {
      throw new TypeError("request(): credentials need a username and a password (strings)");
    }
    this.#realm = credentials.realm;
    this.#client = new DigestClient({
      username: credentials.username,
      password: credentials.password,
      realm: credentials.realm,
      random: (n) => crypto.getRandomValues(new Uint8Array(n)),
    });
  }

  /**
   * The request to send again for a 401 or 407 (RFC 3261 §22.2): CSeq one more, a new branch,
   * the credentials for the challenge's realm in place of any earlier ones for that realm;
   * undefined when there is none to answer (not a challenge, a realm answered already, a
   * challenge this client cannot take).
   */
  retry(request: SipRequest, response: SipResponse): SipRequest | undefined {
    const status = response.status;
    if (status !== 401 && status !== 407) return undefined;
    const header = status === 401 ? "WWW-Authenticate" : "Proxy-Authenticate";
    const fitting: string[] = [];
    let realm: string | undefined;
    for (const value of response.headers.getFields(header)) {
      let challenge;
      try {
        challenge = parseChallenge(value, header);
      } catch {
        continue;
      }
      if (this.#realm !== undefined && challenge.realm !== this.#realm) continue;
      const times = this.#answered.get(challenge.realm) ?? 0;
      // Once per realm; once more when the server says only the nonce was old (RFC 7616 §3.3).
      if (times >= 2 || (times === 1 && !challenge.stale)) continue;
      if (realm !== undefined && challenge.realm !== realm) continue;
      realm = challenge.realm;
      fitting.push(value);
    }
    if (realm === undefined) return undefined;
    let answer;
    try {
      answer = this.#client.authorize({
        method: request.method,
        uri: request.uri,
        body: request.body,
        challenges: fitting,
        header,
      });
    } catch {
      return undefined;
    }
    this.#answered.set(realm, (this.#answered.get(realm) ?? 0) + 1);
    const fields: [string, string][] = [];
    for (const field of request.headers.fields) {
      const lower = field.name.toLowerCase();
      if (lower === "via" && fields.every(([n]) => n.toLowerCase() !== "via")) {
        // RFC 3261 §8.1.1.7: a new request, a new branch.
        fields.push([field.name, field.value.replace(/branch=z9hG4bK[^;,\s]*/i, `branch=z9hG4bK${_random(16)}`)]);
      } else if (lower === "cseq") {
        fields.push([field.name, `${request.cseq.seq + 1} ${request.method}`]);
      } else if (lower === "content-length") {
        continue;
      } else if (lower === answer.header.toLowerCase() && _realmOf(field.value) === realm) {
        continue;
      } else fields.push([field.name, field.value]);
    }
    fields.push([answer.header, answer.value]);
    return new SipRequest({ method: request.method, uri: request.uri, headers: fields, body: request.body });
  }
}

/** The realm of credentials, for replacing them; undefined when it cannot be read. */
function _realmOf(value: string): string | undefined {
  return /realm\s*=\s*"([^"]*)"/i.exec(value)?.[1];
}
