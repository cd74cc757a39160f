// The one leak detector of the test suites: a ledger of every secret a run has seen, checked against
// the log and every error response.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import type { Response } from 'supertest';

/** Strings shorter than this are not remembered: they would match by accident. */
const MIN_SECRET_CHARS = 12;

/**
 * Collects every secret seen during a run (tokens, keys, session tokens, provider tokens, cookie
 * and authorization header values) and every error response body, then checks that no log line
 * and no error response contains any of them.
 *
 * @example
 * const ledger = new SecretLedger();
 * ledger.checkAfter(() => logs.text()); // at the top of the file: runs after every test of the file
 * ledger.observe(await request(app).get('/aws/token'));
 */
export class SecretLedger {
  readonly #secrets = new Set<string>();
  readonly #errorBodies: string[] = [];

  /** Remembers secrets (strings under 12 characters are ignored). */
  add(...values: (string | undefined | null)[]): void {
    for (const v of values) if (typeof v === 'string' && v.length >= MIN_SECRET_CHARS) this.#secrets.add(v);
  }

  /** Remembers the secrets a response carries and, for an error, its body. */
  observe(res: Response): void {
    const body: unknown = res.body;
    if (typeof body === 'object' && body !== null) {
      const b = body as Record<string, unknown>;
      for (const k of ['token', 'secretAccessKey', 'sessionToken', 'accessToken']) {
        const v = b[k];
        if (typeof v === 'string') this.add(v);
      }
    }
    const cookies: unknown = res.headers['set-cookie'];
    if (Array.isArray(cookies)) {
      for (const c of cookies as string[]) {
        const value = c.split(';')[0]?.split('=').slice(1).join('=');
        this.add(value, value === undefined ? undefined : decodeURIComponent(value));
      }
    }
    if (res.status >= 400) this.#errorBodies.push(`${JSON.stringify(res.headers)}\n${res.text}`);
  }

  get size(): number {
    return this.#secrets.size;
  }

  /** Characters held by the ledger (test memory, not the product's). */
  get chars(): number {
    let n = 0;
    for (const x of this.#secrets) n += x.length;
    for (const e of this.#errorBodies) n += e.length;
    return n;
  }

  get errorResponses(): number {
    return this.#errorBodies.length;
  }

  /** Asserts that neither `logText` nor any error response seen contains a remembered secret. */
  assertNoLeak(logText: string): void {
    const leaks = [...this.#find(logText)].map(
      (x) => `log contains a secret of ${x.length} chars starting ${x.slice(0, 4)}…`,
    );
    for (const e of this.#errorBodies) {
      for (const x of this.#find(e))
        leaks.push(`an error response contains a secret of ${x.length} chars starting ${x.slice(0, 4)}…`);
    }
    assert.deepEqual(leaks, []);
  }

  /**
   * Registers an `after()` hook in the current suite (the file, at top level) that runs
   * {@link assertNoLeak} on `logText()`: the check covers whatever tests ran, so a file or a single
   * test run alone is still checked, and no test depends on another having filled the ledger.
   */
  checkAfter(logText: () => string): void {
    after(() => {
      this.assertNoLeak(logText());
    });
  }

  /** The remembered secrets that occur in `text`: one pass over the text, indexed by prefix. */
  #find(text: string): Set<string> {
    const k = MIN_SECRET_CHARS;
    const byPrefix = new Map<string, string[]>();
    for (const secret of this.#secrets) {
      const p = secret.slice(0, k);
      const list = byPrefix.get(p);
      if (list === undefined) byPrefix.set(p, [secret]);
      else list.push(secret);
    }
    const found = new Set<string>();
    for (let i = 0; i + k <= text.length; i += 1) {
      const candidates = byPrefix.get(text.slice(i, i + k));
      if (candidates === undefined) continue;
      for (const c of candidates) if (text.startsWith(c, i)) found.add(c);
    }
    return found;
  }
}
