import { isIPv4, isIPv6 } from 'node:net';

/**
 * The rate-limit key of a client address: an IPv4 address as is (an IPv4-mapped IPv6 one too), an
 * IPv6 address by its /64 — one subscriber gets a whole /64 and picks any address in it, so a
 * per-address key would give them 2^64 fresh budgets. `unknown` when there is no address.
 */
export function addressKey(ip: string | undefined): string {
  if (ip === undefined || ip === '') return 'unknown';
  // A zone index (fe80::1%eth0) names an interface, not a part of the address.
  const bare = ip.split('%')[0] ?? '';
  if (!isIPv6(bare)) return ip;
  const groups = expand(bare);
  // ::ffff:a.b.c.d is an IPv4 client seen through a dual-stack socket.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (a trailing dotted IPv4 part counts as two). */
function expand(ip: string): number[] {
  const [head = '', tail] = ip.split('::');
  const parse = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (isIPv4(g)) {
        const [a = 0, b = 0, c = 0, d = 0] = g.split('.').map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...Array<number>(Math.max(0, 8 - left.length - right.length)).fill(0), ...right];
}
