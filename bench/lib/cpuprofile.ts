// Reads a V8 .cpuprofile: the share of on-CPU samples, within a time window, whose stack contains a
// frame matching a predicate (inclusive time).
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** The on-CPU time in [fromUs, toUs) and the part of it under frames matching `match`. */
export function inclusiveShare(
  file: string,
  match: (frame: ProfileNode['callFrame']) => boolean,
  fromUs = 0,
  toUs = Number.POSITIVE_INFINITY,
): { busyMs: number; matchedMs: number; share: number } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const matched = new Map<number, boolean>();
  const isMatched = (id: number): boolean => {
    const known = matched.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    const p = parent.get(id);
    const v = node !== undefined && (match(node.callFrame) || (p !== undefined && isMatched(p)));
    matched.set(id, v);
    return v;
  };
  const idle = new Set(['(idle)', '(program)', '(garbage collector)']);
  let t = profile.startTime;
  let busy = 0;
  let hit = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (t < fromUs || t >= toUs) continue;
    // A sample's delta is the time since the previous sample: attribute it to this one.
    const id = profile.samples[i]!;
    const name = byId.get(id)?.callFrame.functionName ?? '';
    if (name === '(idle)') continue;
    if (idle.has(name) && name !== '(garbage collector)') {
      busy += delta;
      continue;
    }
    busy += delta;
    if (isMatched(id)) hit += delta;
  }
  return { busyMs: busy / 1000, matchedMs: hit / 1000, share: busy === 0 ? 0 : hit / busy };
}
