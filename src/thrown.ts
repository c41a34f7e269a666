/**
 * What the shop's code threw, in words, for an error message. JavaScript can throw anything:
 * `undefined`, a string, an object whose `toString` itself throws.
 */
export function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  try {
    return String(thrown);
  } catch {
    return 'a value that cannot be printed';
  }
}
