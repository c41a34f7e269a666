/*
 * What of Sovendus' own words may be shown, and the one place that decides it. Whatever is
 * returned here travels on: into `error.sovendusMessage` and `error.message`, results, events,
 * log lines, BullMQ's dead letters (kept 30 days), the worker's stderr and the doctor's report.
 *
 * Sovendus' message is kept, as a short excerpt, because it is the shop's one clue to a 422
 * (the coupon API names the field it refused). But it is text from outside, and the request
 * carried the API key: an answer that echoes the key back, even altered, must not carry it on.
 * So the excerpt is:
 *
 * 1. Allow-listed. After NFKC (which folds full-width and other look-alike forms into plain
 *    letters), only printable ASCII and Latin letters (Sovendus answers in English or in its
 *    markets' languages, all Latin-script) are kept. Whitespace and control characters become
 *    a space, so no answer can start a forged log line; anything else (zero-width and other
 *    format characters, combining marks, other scripts) is dropped, so that no invisible
 *    character can split the key into pieces that escape step 2.
 * 2. Redacted. Every run of at least MIN_KEY_PIECE letters and digits that also occurs in the
 *    key's letters and digits is cut out, whatever its case and whatever stands between its
 *    characters (dashes, spaces, dots): a key echoed lower-cased, cut short or without its
 *    dashes goes as surely as an exact one. At most 5 characters of the key in a row can
 *    remain, fewer than the doctor's own mask shows; a false match costs a few words of
 *    Sovendus' message, nothing more.
 * 3. Short: MAX_MESSAGE_LENGTH characters, cut after the redaction, so that no cut can leave
 *    a key piece unrecognised.
 */

const MAX_MESSAGE_LENGTH = 200;
/** Only this much of an answer is read: it bounds the redaction's work on a hostile body. */
const MAX_READ_LENGTH = 1_000;
/** The shortest run of the key's letters and digits that is cut out. */
export const MIN_KEY_PIECE = 6;
const REDACTED = '[redacted]';

/** Printable ASCII and Latin letters; \p{Script=Latin} alone would also take ª and º. */
const ALLOWED = /[ -~]|(?=\p{Script=Latin})\p{L}/u;
const SPACE = /[\p{White_Space}\p{Cc}]/u;

/** Step 1: the characters that may be shown, with every run of spaces made one. */
function allowListed(text: string): string[] {
  const kept: string[] = [];
  for (const char of text.slice(0, MAX_READ_LENGTH).normalize('NFKC').slice(0, MAX_READ_LENGTH)) {
    const shown = ALLOWED.test(char) ? char : SPACE.test(char) ? ' ' : '';
    if (shown === ' ' && (kept.length === 0 || kept[kept.length - 1] === ' ')) continue;
    if (shown !== '') kept.push(shown);
  }
  return kept;
}

/** A character as the key comparison reads it: a lower-case ASCII letter or digit, or none. */
const keyCharOf = (char: string): string | undefined => {
  const lower = char.toLowerCase();
  return /^[a-z0-9]$/.test(lower) ? lower : undefined;
};

/**
 * Step 2: which of `chars` belong to a piece of the key. Letters and digits are compared in
 * order, separators skipped; `common[j]` is the length of the longest run of the text that
 * ends at the current letter and equals the key's run ending at its `j`-th letter (the
 * classic longest-common-substring table, one row at a time).
 */
function keyPieces(chars: readonly string[], secret: string): boolean[] {
  // Code points; an API key is plain ASCII anyway.
  const key = Array.from(secret, keyCharOf).filter((char) => char !== undefined);
  const cut = chars.map(() => false);
  if (key.length === 0) return cut;
  const minimum = Math.min(MIN_KEY_PIECE, key.length);
  /** Where each letter or digit of the text stands in `chars`. */
  const positions: number[] = [];
  let previous = new Uint16Array(key.length + 1);
  let common = new Uint16Array(key.length + 1);
  chars.forEach((char, index) => {
    const keyChar = keyCharOf(char);
    if (keyChar === undefined) return;
    positions.push(index);
    let longest = 0;
    for (let j = 0; j < key.length; j += 1) {
      common[j + 1] = key[j] === keyChar ? (previous[j] ?? 0) + 1 : 0;
      longest = Math.max(longest, common[j + 1] ?? 0);
    }
    if (longest >= minimum) {
      // From the piece's first letter to this one, separators between them included.
      const first = positions[positions.length - longest] ?? index;
      for (let k = first; k <= index; k += 1) cut[k] = true;
    }
    [previous, common] = [common, previous];
  });
  return cut;
}

/** Steps 1 to 3: `text` as it may be shown, or `undefined` when nothing of it is left. */
export function showableText(text: string, secret: string | undefined): string | undefined {
  const chars = allowListed(text);
  const cut = secret === undefined ? undefined : keyPieces(chars, secret);
  let shown = '';
  chars.forEach((char, index) => {
    if (cut?.[index] !== true) shown += char;
    else if (cut[index - 1] !== true) shown += REDACTED;
  });
  shown = shown.trim();
  if (shown === '') return undefined;
  return shown.length > MAX_MESSAGE_LENGTH ? `${shown.slice(0, MAX_MESSAGE_LENGTH)}…` : shown;
}

/**
 * Sovendus answers `{"message": "..."}`, `{"error": "..."}` or a bare JSON string (or plain
 * text): the message in it, as it may be shown. `secret`: the key the request carried.
 */
export function readSovendusMessage(body: string, secret: string | undefined): string | undefined {
  let message: unknown = body;
  try {
    const parsed: unknown = JSON.parse(body);
    message =
      typeof parsed === 'object' && parsed !== null
        ? 'message' in parsed
          ? parsed.message
          : 'error' in parsed
            ? parsed.error
            : undefined
        : parsed;
  } catch {
    // Not JSON: use the text as it is.
  }
  return typeof message === 'string' ? showableText(message, secret) : undefined;
}
