/** The most of an answer's body that is read: Sovendus' answers are a short JSON message. */
export const MAX_BODY_BYTES = 4_096;

const STOPPED: unique symbol = Symbol('stopped');

/**
 * Reads an answer's body, but at most `MAX_BODY_BYTES` of it and only until `stop` settles:
 * a huge or endless body costs neither memory nor the caller's time. What arrived before the
 * body broke off, grew too long or ran out of time is returned; the rest is cancelled.
 */
export async function readBodyCapped(response: Response, stop: Promise<unknown>): Promise<string> {
  const reader: ReadableStreamDefaultReader<Uint8Array> | undefined = response.body?.getReader();
  if (reader === undefined) return '';
  const stopped = stop.then((): typeof STOPPED => STOPPED);
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), stopped]);
      if (next === STOPPED || next.done) break;
      chunks.push(next.value);
      size += next.value.byteLength;
      if (size >= MAX_BODY_BYTES) break;
    }
  } catch {
    // The body broke off: what arrived is all there is.
  }
  reader.cancel().catch(() => undefined);
  return Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
}
