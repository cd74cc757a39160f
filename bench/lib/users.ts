/** The bench's app accounts: user `i` logs in as `user{i}` / `pw-{i}` and has the id `bench-user-{i}`. */
export const userName = (i: number): string => `user${i}`;
export const userPassword = (i: number): string => `pw-${i}`;
export const userId = (i: number): string => `bench-user-${i}`;

/** The baseline route's path under `/aws`. */
export const BASELINE_PATH = '/baseline';
