import { createHash, timingSafeEqual } from 'node:crypto';

/** A demo account of the example app. */
export interface DemoUser {
  /** The app's user id: what the broker uses as the developer user identifier. */
  readonly id: string;
  readonly username: string;
  readonly name: string;
  /** Plain text because these are demo accounts printed at start; a real app stores a slow hash. */
  readonly password: string;
}

/** The demo accounts `npm start` prints. */
export const DEMO_USERS: readonly DemoUser[] = Object.freeze([
  { id: 'user-alice', username: 'alice', name: 'Alice Liddell', password: 'alice-demo-pass' },
  { id: 'user-bob', username: 'bob', name: 'Bob Builder', password: 'bob-demo-pass' },
  { id: 'user-alice-work', username: 'alice.work', name: 'Alice (work account)', password: 'alice-work-pass' },
]);

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** A user directory over a fixed list. */
export interface UserDirectory {
  /** The user with these credentials, or null (compared in constant time). */
  verify(username: unknown, password: unknown): DemoUser | null;
  byId(id: string): DemoUser | null;
}

/** Builds a {@link UserDirectory} over `users`. */
export function userDirectory(users: readonly DemoUser[]): UserDirectory {
  const byUsername = new Map(users.map((u) => [u.username, u]));
  const byId = new Map(users.map((u) => [u.id, u]));
  return {
    verify(username, password) {
      if (typeof username !== 'string' || typeof password !== 'string' || password.length > 1024) return null;
      const user = byUsername.get(username);
      const ok = timingSafeEqual(digest(password), digest(user?.password ?? '\u0000no-such-user'));
      return ok && user !== undefined ? user : null;
    },
    byId(id) {
      return byId.get(id) ?? null;
    },
  };
}
