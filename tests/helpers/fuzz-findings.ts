// What the fuzzer found, by failure class: how many inputs broke each property, the smallest of them (so a
// failing test names a minimal input rather than the first that happened to fail) and the distinct kinds of
// input that did.

/** One input that broke a property. */
export interface Finding {
  /** What the input was, in a few words (e.g. `ts: "2025"`). */
  input: string;
  /** Bytes of the input, to rank examples from small to large. */
  size: number;
  /** What happened instead of what the property requires. */
  observed: string;
}

const EXAMPLES_KEPT = 3;
const DISTINCT_KEPT = 40;

interface FailureClass {
  count: number;
  examples: Finding[];
  /** Input descriptions (without unique ids) and how often each broke the property. */
  distinct: Map<string, number>;
}

/** Unique ids and sequence numbers out of a description, so that inputs of one kind group together. */
const kindOf = (input: string) =>
  input
    .replace(/FZ[a-z0-9]+-[a-z]+-[A-Z]*\d+/g, '<id>')
    .replace(/\d{6,}/g, '<n>')
    .slice(0, 160);

/** Findings by failure class (a property plus the kind of input, e.g. `rest-5xx`). */
export class Findings {
  private readonly classes = new Map<string, FailureClass>();

  add(failureClass: string, finding: Finding): void {
    const entry: FailureClass = this.classes.get(failureClass) ?? { count: 0, examples: [], distinct: new Map() };
    entry.count += 1;
    entry.examples.push(finding);
    entry.examples.sort((a, b) => a.size - b.size || a.input.localeCompare(b.input));
    entry.examples.length = Math.min(entry.examples.length, EXAMPLES_KEPT);
    const kind = kindOf(finding.input);
    if (entry.distinct.has(kind) || entry.distinct.size < DISTINCT_KEPT) {
      entry.distinct.set(kind, (entry.distinct.get(kind) ?? 0) + 1);
    }
    this.classes.set(failureClass, entry);
  }

  /** The classes whose name starts with one of `prefixes`, worded for an assertion message. */
  report(...prefixes: string[]): string[] {
    return [...this.classes]
      .filter(([name]) => prefixes.some((p) => name.startsWith(p)))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, { count, examples, distinct }]) => {
        const smallest = examples.map((e) => `[${e.input} (${e.size} B) → ${e.observed}]`).join(' ');
        const kinds = [...distinct]
          .sort((a, b) => b[1] - a[1])
          .map(([kind, n]) => `${kind} ×${n}`)
          .join('; ');
        return `${name}: ${count} input(s); smallest: ${smallest}; kinds: ${kinds}`;
      });
  }

  count(failureClass: string): number {
    return this.classes.get(failureClass)?.count ?? 0;
  }

  /** Every class with its examples and kinds, as plain data (for a findings file). */
  toJSON(): Record<string, { count: number; examples: Finding[]; kinds: Record<string, number> }> {
    return Object.fromEntries(
      [...this.classes].map(([name, c]) => [
        name,
        { count: c.count, examples: c.examples, kinds: Object.fromEntries(c.distinct) },
      ]),
    );
  }
}
