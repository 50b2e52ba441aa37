// Skipping with the reason in the output. Neither `deno test` nor `bun test` prints the text of
// node:test's `{ skip: "reason" }` (Deno says "ignored", Bun "(skip)"), so the reason is printed
// here, once per group of tests it skips; both runners show a test file's console output.

/**
 * The `skip` option for a group of tests: `false` when `reason` is `false`, else the reason,
 * printed on standard output as `skipped (<what>): <reason>`.
 */
export function skipWhy(what: string, reason: string | false): string | false {
  if (reason !== false) console.log(`skipped (${what}): ${reason}`);
  return reason;
}
