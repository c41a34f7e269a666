/**
 * Finds a secret in text that may have altered it, and cuts it out: the one recogniser of a
 * secret's pieces, for Sovendus' answers (`http/sovendus-message.ts`) and the doctor's
 * report (`cli/doctor-masks.ts`).
 *
 * Letters and digits are compared, ignoring case and whatever stands between them (dashes,
 * spaces, dots): a key echoed lower-cased, cut short or without its dashes is found as surely
 * as an exact one. Every run of at least {@link MIN_SECRET_PIECE} of them that also occurs in
 * the secret goes, so at most 5 of the secret's characters in a row can remain, fewer than
 * the doctor's own mask shows; a chance match costs a few words of the text, nothing more.
 * Invisible characters that could split the secret are the caller's to drop first.
 */

/** The shortest run of the secret's letters and digits that is cut out. */
export const MIN_SECRET_PIECE = 6;
/** An API key has at most 256 characters: a longer secret is compared by its first 256. */
const MAX_SECRET_LENGTH = 256;

/** A character as the comparison reads it: a lower-case ASCII letter or digit, or none. */
function comparedAs(char: string): string | undefined {
  const lower = char.toLowerCase();
  return /^[a-z0-9]$/.test(lower) ? lower : undefined;
}

/**
 * Which of `chars` belong to a piece of the secret. `common[j]` is the length of the longest
 * run of the text that ends at the current letter and equals the secret's run ending at its
 * `j`-th letter (the classic longest-common-substring table, one row at a time).
 */
function piecesOf(chars: readonly string[], secret: string): boolean[] {
  const wanted = Array.from(secret, comparedAs)
    .filter((char) => char !== undefined)
    .slice(0, MAX_SECRET_LENGTH);
  const cut = chars.map(() => false);
  if (wanted.length === 0) return cut;
  const minimum = Math.min(MIN_SECRET_PIECE, wanted.length);
  /** Where each letter or digit of the text stands in `chars`. */
  const positions: number[] = [];
  let previous = new Uint16Array(wanted.length + 1);
  let common = new Uint16Array(wanted.length + 1);
  chars.forEach((char, index) => {
    const compared = comparedAs(char);
    if (compared === undefined) return;
    positions.push(index);
    let longest = 0;
    for (let j = 0; j < wanted.length; j += 1) {
      const run = wanted[j] === compared ? (previous[j] ?? 0) + 1 : 0;
      common[j + 1] = run;
      longest = Math.max(longest, run);
    }
    if (longest >= minimum) {
      // From the piece's first letter to this one, the separators between them included.
      const first = positions[positions.length - longest] ?? index;
      for (let k = first; k <= index; k += 1) cut[k] = true;
    }
    [previous, common] = [common, previous];
  });
  return cut;
}

/** `text` with each piece of each secret replaced by `replacement` (once per piece). */
export function cutSecretPieces(
  text: string,
  secrets: readonly string[],
  replacement: string,
): string {
  // Code points, so that a character outside the BMP is kept or cut whole.
  const chars = Array.from(text);
  const cut = chars.map(() => false);
  for (const secret of secrets) {
    piecesOf(chars, secret).forEach((inPiece, index) => {
      if (inPiece) cut[index] = true;
    });
  }
  let kept = '';
  chars.forEach((char, index) => {
    if (!cut[index]) kept += char;
    else if (cut[index - 1] !== true) kept += replacement;
  });
  return kept;
}
