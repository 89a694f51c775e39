/**
 * "Did you mean" suggestions. Damerau-style edit distance is overkill for
 * recipe keys; plain Levenshtein with a length-scaled cut-off gives the
 * suggestions people expect (`stage` -> `stages`, `sparsty` -> `sparsity`)
 * without proposing unrelated words.
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + cost);
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate, or undefined when none is close enough to be a typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const score = editDistance(lower, c.toLowerCase());
    if (score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  const limit = Math.max(1, Math.floor(Math.max(word.length, 3) / 3));
  return bestScore <= limit ? best : undefined;
}

/** `did you mean \`x\`?` or an empty string. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const c = closest(word, candidates);
  return c === undefined ? '' : ` (did you mean \`${c}\`?)`;
}

/** `a, b, c` with backticks, for "allowed keys" lists. */
export function listCode(items: Iterable<string>): string {
  return [...items].map((s) => `\`${s}\``).join(', ');
}
