/**
 * The nearest of a few known names to a misspelt one, for the "did you mean" hints of the
 * rules loader and of templates.
 *
 * @module
 */

/**
 * @internal The allowed name nearest to a misspelt one, if it is near enough to be a likely
 * typo: at most one edit per three characters (and at least one).
 *
 * @param key The name as written.
 * @param allowed The names that would have been accepted.
 * @returns The likely intended name, or `undefined` if none is near.
 *
 * @example
 * ```ts
 * import { _closest } from "./closest.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(_closest("mtach", ["match", "method"]), "match");
 * assert.equal(_closest("xyz", ["match", "method"]), undefined);
 * ```
 */
export function _closest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const d = _editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

/** Edit distance counting insertions, deletions, substitutions and swaps of neighbours. */
function _editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        d[0].push(j);
        continue;
      }
      let best = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2][j - 2] + 1);
      d[i].push(best);
    }
  }
  return d[a.length][b.length];
}
