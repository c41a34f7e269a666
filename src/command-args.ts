/*
 * Redis clients put the failed command on their errors: ioredis as `command: { name, args }`
 * (a ReplyError such as READONLY after a failover, an AbortError when the connection closes),
 * and a Cluster's error keeps the last node's as `lastNodeError`. Our commands' arguments hold
 * the session id (in a token's key), the token (in its value and in claim names) and whole
 * queued jobs (BullMQ's adds): a logger's error serializer, `util.inspect` and a cause kept on
 * our own errors would carry them on. So the arguments are dropped, and the command's name,
 * which is what tells an operator something, is kept.
 */

/** Causes within causes are followed this deep; a cycle or a longer chain ends here. */
const MAX_DEPTH = 5;

const isCommand = (value: unknown): value is { name?: unknown; args: unknown } =>
  typeof value === 'object' && value !== null && 'args' in value;

/** An own field of an error as it may stay, or a replacement. */
function scrubbedField(key: PropertyKey, field: unknown, depth: number): unknown {
  if (key === 'command' && isCommand(field)) {
    return typeof field.name === 'string' ? { name: field.name } : {};
  }
  if (field instanceof Error) return scrub(field, depth + 1);
  if (Array.isArray(field) && field.some((item) => item instanceof Error)) {
    const items: unknown[] = field.map((item: unknown) => scrub(item, depth + 1));
    return items.some((item, index) => item !== field[index]) ? items : field;
  }
  return field;
}

function scrub(value: unknown, depth: number): unknown {
  if (!(value instanceof Error) || depth > MAX_DEPTH) return value;
  const replaced = new Map<PropertyKey, unknown>();
  for (const key of Reflect.ownKeys(value)) {
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    if (descriptor === undefined || !('value' in descriptor)) continue;
    const field: unknown = descriptor.value;
    const kept = scrubbedField(key, field, depth);
    if (kept !== field) replaced.set(key, kept);
  }
  if (replaced.size === 0) return value;
  // A copy, not the client's error changed under it: same class, message, stack and fields
  // (and as enumerable as they were, so `cause` stays out of JSON.stringify).
  const copy = Object.create(Object.getPrototypeOf(value) as object) as Error;
  for (const key of Reflect.ownKeys(value)) {
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    if (descriptor === undefined) continue;
    if (replaced.has(key)) descriptor.value = replaced.get(key);
    Object.defineProperty(copy, key, descriptor);
  }
  return copy;
}

/** `value`, or when it is an error that holds a Redis command's arguments, a copy without them. */
export function withoutCommandArgs(value: unknown): unknown {
  return scrub(value, 0);
}

/** A log line's fields, each error in them without command arguments. */
export function fieldsWithoutCommandArgs(fields: Record<string, unknown>): Record<string, unknown> {
  let scrubbed: Record<string, unknown> | undefined;
  for (const [name, field] of Object.entries(fields)) {
    if (!(field instanceof Error)) continue;
    const kept = withoutCommandArgs(field);
    if (kept !== field) (scrubbed ??= { ...fields })[name] = kept;
  }
  return scrubbed ?? fields;
}
