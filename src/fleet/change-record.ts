// A change of the fleet as recorded in Redis's change log: its shape, its record (sealed by the
// change feed, with the instance that made it) and the reading of a record back.
import { randomBytes } from 'node:crypto';

/** Redis refused a change: a key it writes has the wrong type (a writer's). */
export class FleetTypeMismatch extends Error {}

/** A change of users and identities (or of every entry). */
export interface Change {
  readonly u: readonly string[];
  readonly i: readonly string[];
  /** Every entry: changes were lost. */
  readonly all?: true;
}

/** A fresh random value (an epoch, an instance's id). */
export function token(): string {
  return randomBytes(12).toString('base64url');
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** A change record as sealed in the log: the change and the instance that made it. */
interface ChangeRecord extends Change {
  readonly n: string;
}

/** A change record from its JSON, or `undefined` when it does not parse (treated as a lost change). */
export function parseChange(json: string): ChangeRecord | undefined {
  try {
    const c = JSON.parse(json) as { n?: unknown; u?: unknown; i?: unknown; all?: unknown };
    if (typeof c.n !== 'string') return undefined;
    if (c.all === true) return { n: c.n, u: [], i: [], all: true };
    if (isStringArray(c.u) && isStringArray(c.i)) return { n: c.n, u: c.u, i: c.i };
  } catch {
    // Unreadable: the caller treats it as a lost change.
  }
  return undefined;
}
