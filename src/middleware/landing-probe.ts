/**
 * Below this, a shared prefix is no probe: one or two letters are found in most queries and
 * Cookie headers, and would send most requests down the slow path.
 */
const MIN_PROBE_LENGTH = 3;

function sharedPrefix(names: readonly string[]): string {
  const [first = ''] = names;
  let length = first.length;
  for (const name of names) {
    let same = 0;
    while (same < length && name.charCodeAt(same) === first.charCodeAt(same)) same += 1;
    length = same;
  }
  return first.slice(0, length);
}

/**
 * Whether a text may hold any of `names`, from `from` on: the fast path of every request, which
 * nearly never holds one. Names that share a prefix of a few characters (`sovReqToken` and
 * `sovCouponCode` share `sov`) are looked for by that prefix, in one substring search: a request
 * costs the same whether one name is looked for or two. A hit only means "read them": the
 * readers then look for each name.
 */
export function probeFor(names: readonly string[]): (text: string, from: number) => boolean {
  if (names.length === 0) return () => false;
  const prefix = sharedPrefix(names);
  if (prefix.length >= MIN_PROBE_LENGTH) return (text, from) => text.includes(prefix, from);
  // A renamed `queryParam` may share nothing with `sovCouponCode`: one search per name then.
  return (text, from) => names.some((name) => text.includes(name, from));
}
