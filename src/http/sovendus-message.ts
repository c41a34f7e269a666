import { cutSecretPieces } from '../secret-pieces.js';

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
 * 2. Redacted: every run of 6 or more of the key's letters and digits, in any case and
 *    whatever stands between them, becomes `[redacted]` (see `secret-pieces.ts`).
 * 3. Short: MAX_MESSAGE_LENGTH characters, cut after the redaction, so that no cut can leave
 *    a piece of the key too short to be recognised but still shown.
 */

const MAX_MESSAGE_LENGTH = 200;
/** Only this much of an answer is read: it bounds the redaction's work on a hostile body. */
const MAX_READ_LENGTH = 1_000;

/** Printable ASCII and Latin letters; \p{Script=Latin} alone would also take ª and º. */
const ALLOWED = /[ -~]|(?=\p{Script=Latin})\p{L}/u;
const SPACE = /[\p{White_Space}\p{Cc}]/u;

/** Step 1: the characters that may be shown, with every run of spaces made one. */
function allowListed(text: string): string {
  let kept = '';
  for (const char of text.slice(0, MAX_READ_LENGTH).normalize('NFKC').slice(0, MAX_READ_LENGTH)) {
    const shown = ALLOWED.test(char) ? char : SPACE.test(char) ? ' ' : '';
    if (shown !== ' ' || (kept !== '' && !kept.endsWith(' '))) kept += shown;
  }
  return kept;
}

/** Steps 1 to 3: `text` as it may be shown, or `undefined` when nothing of it is left. */
export function showableText(text: string, secret: string | undefined): string | undefined {
  const allowed = allowListed(text);
  const shown = (
    secret === undefined ? allowed : cutSecretPieces(allowed, [secret], '[redacted]')
  ).trim();
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
