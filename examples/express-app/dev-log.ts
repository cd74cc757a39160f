// The example app's readable terminal log (LOG_FORMAT=dev, the default): one short line per request
// and per message, instead of pino's JSON. It reads pino's JSON lines (already redacted) and keeps
// only what a developer reads at a glance: never headers, cookies, bodies or query strings.
import type { DestinationStream } from 'pino';

const LEVELS: Readonly<Record<number, string>> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

// Top-level fields shown after a message (`code=ERR_… step=afterLogin`): short, never secret by
// construction (the broker and the middleware log codes and names, not values).
const SHOWN_FIELDS = ['code', 'step', 'operation', 'component', 'status'] as const;
const MAX_FIELD = 80;

interface RequestRecord {
  readonly req?: { readonly method?: unknown; readonly url?: unknown };
  readonly res?: { readonly statusCode?: unknown };
  readonly responseTime?: unknown;
}

/** `/aws/credentials?x=1` → `/aws/credentials`: a query string may carry what a log must not. */
function pathOf(url: unknown): string {
  if (typeof url !== 'string') return '?';
  const path = url.split(/[?#]/, 1)[0] ?? '';
  return safe(path.length > 200 ? `${path.slice(0, 200)}…` : path);
}

/** Control characters (a forged URL's ANSI escapes, newlines) shown escaped, never written. */
function safe(text: string): string {
  // eslint-disable-next-line no-control-regex -- the point is to find control characters
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function field(value: unknown): string | undefined {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') return undefined;
  return safe(value.length > MAX_FIELD ? `${value.slice(0, MAX_FIELD)}…` : value);
}

/**
 * One pino JSON line as the dev log shows it: `GET /aws/credentials 200 3ms` for a request pino-http
 * logged, `warn  guest identity not upgraded code=ERR_THROTTLED` for anything else.
 */
export function formatDevLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed !== 'object' || parsed === null) return safe(json.trim());
    rec = parsed as Record<string, unknown>;
  } catch {
    return safe(json.trim());
  }
  const level = typeof rec.level === 'number' ? (LEVELS[rec.level] ?? String(rec.level)) : 'info';
  const { req, res, responseTime } = rec as RequestRecord;
  if (req !== undefined && res !== undefined && typeof res.statusCode === 'number') {
    const method = typeof req.method === 'string' ? safe(req.method) : '?';
    const ms = typeof responseTime === 'number' ? ` ${Math.round(responseTime)}ms` : '';
    const prefix = level === 'info' ? '' : `${level.padEnd(5)} `;
    return `${prefix}${method} ${pathOf(req.url)} ${res.statusCode}${ms}`;
  }
  const parts = [`${level.padEnd(5)} ${field(rec.msg) ?? ''}`.trimEnd()];
  for (const name of SHOWN_FIELDS) {
    const v = field(rec[name]);
    if (v !== undefined) parts.push(`${name}=${v}`);
  }
  const err: unknown = rec.err;
  if (typeof err === 'object' && err !== null) {
    const { type: t, message: m } = err as { type?: unknown; message?: unknown };
    const type = field(t);
    const message = field(m);
    if (type !== undefined || message !== undefined) parts.push(`err=${[type, message].filter(Boolean).join(': ')}`);
  }
  return parts.join(' ');
}

/**
 * A pino destination that writes {@link formatDevLine}'s lines to `out` (default stdout).
 * @example
 * const logger = pino({ redact: [...redactPaths] }, devLogStream());
 */
export function devLogStream(out: { write(text: string): unknown } = process.stdout): DestinationStream {
  return {
    write(chunk: string): void {
      for (const line of chunk.split('\n')) {
        if (line.trim() !== '') out.write(`${formatDevLine(line)}\n`);
      }
    },
  };
}
