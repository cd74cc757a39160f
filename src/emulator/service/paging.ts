import { ServiceError } from '../service-error.js';
import { str } from './state.js';

/** A pagination token: the last sequence number served, bound to what is being listed. */
export function encodeToken(cursor: number, scope: string): string {
  return Buffer.from(JSON.stringify({ c: cursor, s: scope })).toString('base64url');
}

/** The cursor of a pagination token (0 when absent), or InvalidParameterException. */
export function decodeToken(nextToken: string | undefined, scope: string): number {
  if (nextToken === undefined) return 0;
  try {
    const v = JSON.parse(Buffer.from(str(nextToken) ?? '', 'base64url').toString('utf8')) as {
      c?: unknown;
      s?: unknown;
    };
    if (typeof v.c === 'number' && Number.isInteger(v.c) && v.c >= 0 && v.s === scope) return v.c;
  } catch {
    // fall through
  }
  throw new ServiceError('InvalidParameterException', 'The pagination token is invalid.');
}
