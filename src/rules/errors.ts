/**
 * The two errors a rules file can raise: {@linkcode RulesSyntaxError} when it is not JSON,
 * {@linkcode RulesError} when it is JSON but not a valid rules file.
 *
 * @module
 */

/**
 * A rules file that is valid JSON but not a valid rules file. The message names the file,
 * the JSON path and the problem:
 * `rules.json: rules[2].respond.status: must be an integer 100..699, got 99`.
 *
 * @example
 * ```ts
 * import { loadRules, RulesError } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => loadRules([{ respond: { status: 99 } }], "rules.json"), (e) => {
 *   assert.ok(e instanceof RulesError);
 *   assert.equal(e.message, "rules.json: [0].respond.status: must be an integer 100..699, got 99");
 *   assert.equal(e.file, "rules.json");
 *   assert.equal(e.path, "[0].respond.status");
 *   assert.equal(e.problem, "must be an integer 100..699, got 99");
 *   return true;
 * });
 * ```
 */
export class RulesError extends TypeError {
  /** The file, as named to the loader. */
  readonly file: string;
  /** The JSON path of the offending value, e.g. `rules[2].respond.status`; `""` for the top. */
  readonly path: string;
  /** The problem alone, without file and path. */
  readonly problem: string;

  /**
   * Creates the error; the message is built from the parts.
   *
   * @param file The file, as named to the loader.
   * @param path The JSON path of the offending value (`""` for the top level).
   * @param problem What is wrong, e.g. `must be an integer 100..699, got 99`.
   */
  constructor(file: string, path: string, problem: string) {
    super(path === "" ? `${file}: ${problem}` : `${file}: ${path}: ${problem}`);
    this.name = "RulesError";
    this.file = file;
    this.path = path;
    this.problem = problem;
  }
}

/**
 * A rules file that is not valid JSON (or repeats a key in an object, which JSON.parse would
 * silently accept). The message reads `rules.json:3:14: problem`, or `rules.json: problem`
 * when no position is known. Line and column count from 1; the column counts UTF-16 units.
 *
 * @example
 * ```ts
 * import { parseRules, RulesSyntaxError } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => parseRules('[\n  { "silent": tru }\n]', "rules.json"), (e) => {
 *   assert.ok(e instanceof RulesSyntaxError);
 *   assert.equal(e.message, 'rules.json:2:15: unexpected token "tru" (expected a value)');
 *   assert.equal(e.line, 2);
 *   assert.equal(e.column, 15);
 *   return true;
 * });
 * ```
 */
export class RulesSyntaxError extends SyntaxError {
  /** The file, as named to the loader. */
  readonly file: string;
  /** The problem alone, without file and position. */
  readonly problem: string;
  /** Offset in the text (UTF-16 units, after a leading byte order mark), if known. */
  readonly offset: number | undefined;
  /** Line from 1, if known. */
  readonly line: number | undefined;
  /** Column from 1, if known. */
  readonly column: number | undefined;

  /**
   * Creates the error; the message is built from the parts.
   *
   * @param file The file, as named to the loader.
   * @param problem What is wrong.
   * @param position Where, if known.
   */
  constructor(
    file: string,
    problem: string,
    position?: { offset: number; line: number; column: number },
  ) {
    super(
      position === undefined ? `${file}: ${problem}` : `${file}:${position.line}:${position.column}: ${problem}`,
    );
    this.name = "RulesSyntaxError";
    this.file = file;
    this.problem = problem;
    this.offset = position?.offset;
    this.line = position?.line;
    this.column = position?.column;
  }
}
