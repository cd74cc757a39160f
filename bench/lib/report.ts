// What every figure adds to the results table, the settings the figures share, and the progress log.

export const QUICK = process.env.BENCH_QUICK === '1';
/** Rounds of a side-by-side ratio, and the seconds of each side in a round. */
export const ROUNDS = QUICK ? 3 : 7;
export const ROUND_SECONDS = QUICK ? 2 : 3;
/** autocannon connections of the hot-path figures. */
export const CONNECTIONS = 20;
export const CREDENTIALS_PATH = '/aws/credentials';
/** GetOpenIdTokenForDeveloperIdentity's documented quota, requests per second. */
export const QUOTA_RPS = 50;

/** One line of the results table. */
export interface Row {
  readonly figure: string;
  readonly how: string;
  readonly measured: string;
  readonly goal: string;
  /** `undefined` for a figure that is only reported. */
  readonly pass: boolean | undefined;
}

/** Where a group of figures puts its rows and notes. */
export interface Report {
  readonly rows: Row[];
  readonly notes: string[];
}

/** A progress line on stderr (the table goes to stdout). */
export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
