/**
 * Bounds on decoded JSON. `JSON.parse` takes 20,000 levels of nesting in 40 KB without complaint, but
 * everything recursive after it (`JSON.stringify`, structured clone, the AWS SDK's marshalling) throws
 * `RangeError: Maximum call stack size exceeded`. Values are therefore measured once, without
 * recursion, and anything deeper than an event could ever need is refused with a reason.
 */

/** Deepest nesting accepted anywhere in a request body or record: an event is flat, an envelope two deep. */
export const MAX_JSON_DEPTH = 32;

/** Whether `value` nests objects or arrays more than `limit` levels deep (a scalar is depth 0). */
export function nestsDeeperThan(value: unknown, limit = MAX_JSON_DEPTH): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop() as [unknown, number];
    if (typeof item !== 'object' || item === null) continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}

/** `JSON.stringify` of a value that may be too deep: levels below `limit` become the string "…". */
export function stringifyBounded(value: unknown, limit = MAX_JSON_DEPTH): string {
  const cut = (item: unknown, depth: number): unknown => {
    if (typeof item !== 'object' || item === null) return item;
    if (depth >= limit) return '…';
    if (Array.isArray(item)) return item.map((child) => cut(child, depth + 1));
    return Object.fromEntries(Object.entries(item).map(([key, child]) => [key, cut(child, depth + 1)]));
  };
  return JSON.stringify(cut(value, 0)) ?? 'undefined';
}
