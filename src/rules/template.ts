/**
 * Templates in header values and text bodies: the variables a template may name, compiling
 * and rendering.
 *
 * @module
 */

import { _closest } from "./closest.ts";

/**
 * The names a template may use as `{{name}}`. The caller supplies a value for each when it
 * renders a template with {@linkcode renderTemplate}:
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
 * import { TEMPLATE_VARIABLES } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * assert.ok(TEMPLATE_VARIABLES.includes("call_id"));
 * ```
 */
export const TEMPLATE_VARIABLES: readonly TemplateVariable[] = Object.freeze([
  "call_id",
  "from_uri",
  "from_user",
  "from_tag",
  "to_uri",
  "to_user",
  "ruri",
  "ruri_user",
  "ruri_host",
  "ruri_hostport",
  "method",
  "cseq",
  "source_address",
  "source_port",
  "transport",
  "branch",
]);

/**
 * One of the {@linkcode TEMPLATE_VARIABLES}.
 *
 * @example
 * ```ts
 * import type { TemplateVariable } from "@sipecho/sipecho";
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
 * A compiled template: literal text and `{{variable}}` references, in order.
 *
 * @example
 * ```ts
 * import { loadRules, type Template } from "@sipecho/sipecho";
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
 * import { renderTemplate } from "@sipecho/sipecho";
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
