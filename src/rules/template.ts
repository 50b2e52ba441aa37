/**
 * Templates in header values and text bodies: the variables a template may name, the values
 * of those variables for a request ({@linkcode templateValues}), compiling and rendering.
 *
 * Each variable is defined once, in the table `_VARIABLES`, with the function that computes its
 * value; {@linkcode TEMPLATE_VARIABLES} is derived from the table. The {@linkcode TemplateVariable}
 * union is spelled out for the docs (`deno doc --lint` refuses a public type that names a private
 * table), and the compiler refuses a table that lacks one of its members or adds another.
 *
 * @module
 */

import type { SipRequest } from "../sip/message.ts";
import type { NameAddress } from "../sip/header_values.ts";
import type { Transport } from "../sip/transport.ts";
import type { SipUri } from "../sip/uri.ts";
import { _closest } from "./closest.ts";

/** Where a request came from, as the caller of {@linkcode templateValues} knows it. */
interface _Source {
  readonly address: string;
  readonly port: number;
  readonly transport: Transport;
}

/**
 * One of the {@linkcode TEMPLATE_VARIABLES}.
 *
 * @example
 * ```ts
 * import type { TemplateVariable } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * const name: TemplateVariable = "from_user";
 * assert.equal(name, "from_user");
 * ```
 */
export type TemplateVariable =
  | "call_id"
  | "from_uri"
  | "from_user"
  | "from_tag"
  | "to_uri"
  | "to_user"
  | "ruri"
  | "ruri_user"
  | "ruri_host"
  | "ruri_hostport"
  | "method"
  | "cseq"
  | "source_address"
  | "source_port"
  | "transport"
  | "branch";

/**
 * Every template variable, in the order they are documented, with the function that computes
 * its value from a request and its source. A value the request does not have is `""`.
 */
const _VARIABLES = {
  call_id: (request) => request.callId,
  from_uri: (request) => request.from.uri,
  from_user: (request) => _userOf(request.from),
  from_tag: (request) => request.from.tag ?? "",
  to_uri: (request) => request.to.uri,
  to_user: (request) => _userOf(request.to),
  ruri: (request) => request.uri,
  ruri_user: (request) => _sipUri(request)?.user ?? "",
  ruri_host: (request) => _sipUri(request)?.host ?? "",
  ruri_hostport: (request) => {
    const sip = _sipUri(request);
    return sip === undefined ? "" : sip.port === undefined ? sip.host : `${sip.host}:${sip.port}`;
  },
  method: (request) => request.method,
  cseq: (request) => String(request.cseq.seq),
  source_address: (_request, source) => source.address,
  source_port: (_request, source) => String(source.port),
  transport: (_request, source) => source.transport,
  branch: (request) => request.via[0]?.branch ?? "",
} satisfies Record<TemplateVariable, (request: SipRequest, source: _Source) => string>;

/**
 * The names a template may use as `{{name}}`, in the order of the table that defines them
 * (a test keeps this list and the README's in step with it). {@linkcode templateValues}
 * computes them for a request, {@linkcode renderTemplate} substitutes them:
 *
 * | name | value |
 * |---|---|
 * | `call_id` | the Call-ID |
 * | `from_uri`, `from_user`, `from_tag` | the URI in From, its user part, the From tag |
 * | `to_uri`, `to_user` | the URI in To, its user part |
 * | `ruri`, `ruri_user`, `ruri_host` | the Request-URI, its user part, its host |
 * | `ruri_hostport` | the Request-URI host with `:port` when the URI has one |
 * | `method` | the request method |
 * | `cseq` | the CSeq sequence number, e.g. `1` |
 * | `source_address`, `source_port` | where the request came from |
 * | `transport` | `udp`, `tcp`, `tls`, `ws` or `wss` |
 * | `branch` | the branch parameter of the top Via |
 *
 * @example
 * ```ts
 * import { TEMPLATE_VARIABLES } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * assert.ok(TEMPLATE_VARIABLES.includes("call_id"));
 * ```
 */
export const TEMPLATE_VARIABLES: readonly TemplateVariable[] = Object.freeze(
  Object.keys(_VARIABLES) as TemplateVariable[],
);

/**
 * Computes the value of every template variable for a request: what
 * {@linkcode renderTemplate} substitutes in the templates of the rule that answers it.
 *
 * @param request The request being answered.
 * @param source Where it came from: the remote address (IPv6 without brackets), port and
 *   transport.
 * @returns A value for each of the {@linkcode TEMPLATE_VARIABLES}; `""` for one the request
 *   lacks (a From tag, a Via branch, the user and host of a Request-URI that is not `sip:` or
 *   `sips:`).
 * @throws {SyntaxError} If a header field the values come from is missing or malformed (the
 *   message parser has checked them in a request it parsed).
 *
 * @example
 * ```ts
 * import { parseMessage, type SipRequest } from "@sipecho/sipecho";
 * import { templateValues } from "./template.ts";
 * import assert from "node:assert/strict";
 *
 * const request = parseMessage(
 *   "INVITE sip:slow@[2001:db8::1]:5080 SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK7\r\n" +
 *     "From: <tel:+15550123>;tag=9\r\nTo: <sip:slow@example.com>\r\nCall-ID: c1\r\nCSeq: 4 INVITE\r\n\r\n",
 * ) as SipRequest;
 * const values = templateValues(request, { address: "2001:db8::9", port: 5062, transport: "udp" });
 * assert.equal(values.ruri_hostport, "[2001:db8::1]:5080");
 * assert.equal(values.from_user, "");
 * assert.equal(values.cseq, "4");
 * ```
 */
export function templateValues(
  request: SipRequest,
  source: { readonly address: string; readonly port: number; readonly transport: Transport },
): Record<TemplateVariable, string> {
  const values = {} as Record<TemplateVariable, string>;
  for (const name of TEMPLATE_VARIABLES) values[name] = _VARIABLES[name](request, source);
  return values;
}

/** The Request-URI when it is a `sip:` or `sips:` URI (RFC 3261 §19.1), else `undefined`. */
function _sipUri(request: SipRequest): SipUri | undefined {
  const uri = request.requestUri;
  return uri.scheme === "sip" || uri.scheme === "sips" ? (uri as SipUri) : undefined;
}

/**
 * The user part of the URI in From or To. A URI without a parsed user (a `sip:` URI without
 * one, `tel:`, any other scheme) gives the text between its scheme and an `@`, if it has one.
 */
function _userOf(address: NameAddress): string {
  const parsed = address.parsedUri;
  const user = "user" in parsed ? parsed.user : undefined;
  if (user !== undefined) return user;
  const at = address.uri.indexOf("@");
  const colon = address.uri.indexOf(":");
  return at > colon && colon >= 0 ? address.uri.slice(colon + 1, at) : "";
}

/**
 * A compiled template: literal text and `{{variable}}` references, in order.
 *
 * @example
 * ```ts
 * import { loadRules } from "@sipecho/sipecho";
 * import { type Template } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * const [rule] = loadRules([{ respond: { status: 200, body: "hi {{from_user}}" } }]);
 * assert.ok(rule.action.kind === "respond" && rule.action.response.body?.kind === "text");
 * const text: Template = rule.action.response.body.text;
 * assert.deepEqual(text.parts, ["hi ", { variable: "from_user" }]);
 * ```
 */
export interface Template {
  /** The template as written. */
  readonly source: string;
  /** Literal strings and variable references. */
  readonly parts: readonly (string | { readonly variable: TemplateVariable })[];
}

/**
 * @internal Compiles template text, or returns the problem (the loader adds the JSON path,
 * {@linkcode renderTemplate} throws it).
 *
 * @param text The template text.
 * @returns The compiled template, or the problem as text.
 *
 * @example
 * ```ts
 * import { _compileTemplate } from "./template.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(_compileTemplate("to {{ to_user }}"), { source: "to {{ to_user }}", parts: ["to ", { variable: "to_user" }] });
 * assert.equal(_compileTemplate("{{callid}}"), 'unknown template variable "{{callid}}" (did you mean "call_id"?)');
 * ```
 */
export function _compileTemplate(text: string): Template | string {
  const parts: (string | { variable: TemplateVariable })[] = [];
  let literal = "";
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf("{{", i);
    if (open < 0) {
      literal += text.slice(i);
      break;
    }
    literal += text.slice(i, open);
    const close = text.indexOf("}}", open + 2);
    if (close < 0) return `unclosed "{{" at character ${open + 1}`;
    const name = text.slice(open + 2, close).trim();
    if (!(TEMPLATE_VARIABLES as readonly string[]).includes(name)) {
      const guess = _closest(name, TEMPLATE_VARIABLES);
      const hint = guess === undefined ? `known: ${TEMPLATE_VARIABLES.join(", ")}` : `did you mean "${guess}"?`;
      return `unknown template variable "{{${name}}}" (${hint})`;
    }
    if (literal !== "") parts.push(literal);
    literal = "";
    parts.push({ variable: name as TemplateVariable });
    i = close + 2;
  }
  if (literal !== "") parts.push(literal);
  return { source: text, parts };
}

/**
 * Renders a template: each `{{name}}` (spaces inside the braces allowed) becomes `vars[name]`.
 * A variable missing from `vars` renders as the empty string; line breaks inside a value
 * become spaces, so that a value can never start a new header line. There is no escape for a
 * literal `{{`.
 *
 * @param template A compiled template (from a loaded rule) or template text.
 * @param vars A value for each of the {@linkcode TEMPLATE_VARIABLES}.
 * @returns The rendered text.
 * @throws {TypeError} If `template` is text that names an unknown variable or leaves `{{` open.
 *
 * @example
 * ```ts
 * import { renderTemplate } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * assert.equal(renderTemplate("<sip:echo@{{ ruri_host }}>", { ruri_host: "example.com" }), "<sip:echo@example.com>");
 * assert.throws(() => renderTemplate("{{nope}}", {}), TypeError);
 * ```
 */
export function renderTemplate(template: Template | string, vars: Readonly<Record<string, string>>): string {
  let compiled: Template;
  if (typeof template === "string") {
    const result = _compileTemplate(template);
    if (typeof result === "string") throw new TypeError(`Cannot compile template: ${result}`);
    compiled = result;
  } else {
    compiled = template;
  }
  let out = "";
  for (const part of compiled.parts) {
    if (typeof part === "string") {
      out += part;
    } else if (Object.hasOwn(vars, part.variable)) {
      out += String(vars[part.variable]).replace(/[\r\n]+/g, " ");
    }
  }
  return out;
}
