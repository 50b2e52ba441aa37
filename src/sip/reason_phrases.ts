/**
 * The reason phrases of SIP status codes (RFC 3261 §21 and the RFCs that add codes).
 *
 * @module
 */

/**
 * The standard reason phrases: every code of RFC 3261 §21 and the codes added by later RFCs
 * (RFC 3265/6665 202 and 489, RFC 3329 494, RFC 3903 412, RFC 4028 422, RFC 3312 580, ...).
 *
 * @example
 * ```ts
 * import { REASON_PHRASES } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 * assert.equal(REASON_PHRASES[481], "Call/Transaction Does Not Exist");
 * assert.equal(REASON_PHRASES[489], "Bad Event");
 * ```
 */
export const REASON_PHRASES: Readonly<Record<number, string>> = Object.freeze({
  // RFC 3261 §21.1
  100: "Trying",
  180: "Ringing",
  181: "Call Is Being Forwarded",
  182: "Queued",
  183: "Session Progress",
  199: "Early Dialog Terminated", // RFC 6228
  // RFC 3261 §21.2
  200: "OK",
  202: "Accepted", // RFC 3265
  204: "No Notification", // RFC 5839
  // RFC 3261 §21.3
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Moved Temporarily",
  305: "Use Proxy",
  380: "Alternative Service",
  // RFC 3261 §21.4
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  410: "Gone",
  412: "Conditional Request Failed", // RFC 3903
  413: "Request Entity Too Large",
  414: "Request-URI Too Long",
  415: "Unsupported Media Type",
  416: "Unsupported URI Scheme",
  417: "Unknown Resource-Priority", // RFC 4412
  420: "Bad Extension",
  421: "Extension Required",
  422: "Session Interval Too Small", // RFC 4028
  423: "Interval Too Brief",
  424: "Bad Location Information", // RFC 6442
  428: "Use Identity Header", // RFC 4474
  429: "Provide Referrer Identity", // RFC 3892
  430: "Flow Failed", // RFC 5626
  433: "Anonymity Disallowed", // RFC 5079
  436: "Bad Identity-Info", // RFC 4474
  437: "Unsupported Certificate", // RFC 4474
  438: "Invalid Identity Header", // RFC 4474
  439: "First Hop Lacks Outbound Support", // RFC 5626
  440: "Max-Breadth Exceeded", // RFC 5393
  469: "Bad Info Package", // RFC 6086
  470: "Consent Needed", // RFC 5360
  480: "Temporarily Unavailable",
  481: "Call/Transaction Does Not Exist",
  482: "Loop Detected",
  483: "Too Many Hops",
  484: "Address Incomplete",
  485: "Ambiguous",
  486: "Busy Here",
  487: "Request Terminated",
  488: "Not Acceptable Here",
  489: "Bad Event", // RFC 6665
  491: "Request Pending",
  493: "Undecipherable",
  494: "Security Agreement Required", // RFC 3329
  // RFC 3261 §21.5
  500: "Server Internal Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Server Time-out",
  505: "Version Not Supported",
  513: "Message Too Large",
  555: "Push Notification Service Not Supported", // RFC 8599
  580: "Precondition Failure", // RFC 3312
  // RFC 3261 §21.6
  600: "Busy Everywhere",
  603: "Decline",
  604: "Does Not Exist Anywhere",
  606: "Not Acceptable",
  607: "Unwanted", // RFC 8197
  608: "Rejected", // RFC 8688
});

const CLASS_PHRASES = ["", "Provisional", "Success", "Redirection", "Client Error", "Server Error", "Global Failure"];

/**
 * The standard reason phrase for a status code; for a code without one, a phrase naming its
 * class (RFC 3261 §21: a UAS treats an unknown code as the x00 of its class).
 *
 * @param status A status code 100..699.
 * @returns The phrase, e.g. `Busy Here`.
 * @throws {RangeError} If the status is not an integer 100..699.
 * @example
 * ```ts
 * import { reasonPhrase } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 * assert.equal(reasonPhrase(486), "Busy Here");
 * assert.equal(reasonPhrase(499), "Client Error");
 * ```
 */
export function reasonPhrase(status: number): string {
  if (!Number.isInteger(status) || status < 100 || status > 699) {
    throw new RangeError(`Status must be an integer 100..699, got ${status}`);
  }
  return REASON_PHRASES[status] ?? CLASS_PHRASES[Math.floor(status / 100)];
}
