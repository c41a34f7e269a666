import { inspect } from 'node:util';

/**
 * The key as Sovendus might echo it other than exactly: another case, cut short, without its
 * dashes, split by invisible characters, in full-width letters.
 */
export function alteredEchoes(key: string): Record<string, string> {
  // An API key is plain ASCII: one character, one code unit.
  const chars = Array.from(key);
  const mixed = chars
    .map((char, index) => (index % 2 === 0 ? char.toLowerCase() : char.toUpperCase()))
    .join('');
  const splitBy = (separator: string) =>
    chars.map((char, index) => (index % 5 === 4 ? `${separator}${char}` : char)).join('');
  return {
    'in lower case': key.toLowerCase(),
    'in mixed case': mixed,
    'cut short': key.slice(0, 15),
    'by its tail': key.slice(-13),
    'without its dashes': key.replace(/-/g, ''),
    'split by zero-width characters': splitBy('\u200b'),
    'split by soft hyphens': splitBy('\u00ad'),
    'in full-width letters': chars
      .map((char) => String.fromCodePoint((char.codePointAt(0) ?? 0) + 0xfee0))
      .join(''),
  };
}

const lettersAndDigits = (text: string) =>
  text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');

/**
 * A piece of `key` that a reader could make out in `view`: 8 of its letters and digits in a
 * row, whatever their case or form, and whatever stands between them.
 */
export function keyPieceIn(view: string, key: string): string | undefined {
  const wanted = lettersAndDigits(key);
  const seen = lettersAndDigits(view);
  for (let start = 0; start + 8 <= wanted.length; start += 1) {
    const piece = wanted.slice(start, start + 8);
    if (seen.includes(piece)) return piece;
  }
  return undefined;
}

/** Each thing as a shop could print, log or send it: none may show a piece of `key`. */
export function expectNoKeyPiece(key: string, ...things: unknown[]): void {
  for (const thing of things) {
    const views = [
      typeof thing === 'string' ? thing : inspect(thing, { depth: 10, showHidden: true }),
      (JSON.stringify(thing) as string | undefined) ?? '',
    ];
    if (thing instanceof Error) views.push(thing.message, thing.stack ?? '', String(thing.cause));
    for (const view of views) {
      expect({ view, piece: keyPieceIn(view, key) }).toEqual({ view, piece: undefined });
    }
  }
}
