// Shared fixture of the reliability and security suites: the example app on a real broker and a
// restartable emulator (same port, state file), a redacting in-memory pino logger, and a ledger of
// every secret the run has seen, to prove that none of them reaches a log line or an error response.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emulatorClient } from './emulator-sdk.js';
import type { Express } from 'express';
import type { Response } from 'supertest';
import { createApp, type AppDeps } from '../../examples/express-app/app.js';
import type { DemoUser } from '../../examples/express-app/users.js';
import { createBroker } from '../../src/broker/create-broker.js';
import type { BrokerOptions } from '../../src/broker/options.js';
import type { Broker } from '../../src/broker/types.js';
import type { BrokerErrorCode } from '../../src/errors.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { RunningEmulator } from '../../src/emulator/types.js';
import { DEMO_POOL, DEMO_PROVIDER } from './app-stack.js';
import { memoryLogger } from './memory-logger.js';

export { DEMO_POOL, DEMO_PROVIDER };

/** Every code the middleware and the example app may answer with. */
export const KNOWN_CODES: ReadonlySet<BrokerErrorCode> = new Set<BrokerErrorCode>([
  'ERR_UNAUTHENTICATED',
  'ERR_BAD_REQUEST',
  'ERR_FORBIDDEN',
  'ERR_NOT_FOUND',
  'ERR_PAYLOAD_TOO_LARGE',
  'ERR_CONFLICT',
  'ERR_LIMIT_EXCEEDED',
  'ERR_PROVIDER_TOKEN_REJECTED',
  'ERR_RATE_LIMITED',
  'ERR_COGNITO_THROTTLED',
  'ERR_COGNITO_REJECTED',
  'ERR_COGNITO_UNAVAILABLE',
  'ERR_COGNITO_TIMEOUT',
  'ERR_IDENTITY_DISABLED',
  'ERR_MISCONFIGURED',
  'ERR_INTERNAL',
]);

/** The codes a request may end in while Cognito is failing: the documented upstream ones. */
export const UPSTREAM_FAILURE_CODES: ReadonlySet<string> = new Set([
  'ERR_COGNITO_THROTTLED',
  'ERR_COGNITO_UNAVAILABLE',
  'ERR_COGNITO_TIMEOUT',
]);

/**
 * Collects every secret seen during a run (tokens, keys, session tokens, provider tokens, cookie
 * and authorization header values) and every error response body, then checks that no log line
 * and no error response contains any of them.
 */
export class SecretLedger {
  readonly #secrets = new Set<string>();
  readonly #errorBodies: string[] = [];

  /** Remembers secrets (short strings are ignored: they would match by accident). */
  add(...values: (string | undefined | null)[]): void {
    for (const v of values) if (typeof v === 'string' && v.length >= 12) this.#secrets.add(v);
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

  /** The remembered secrets that occur in `text`: one pass over the text, indexed by prefix. */
  #find(text: string): Set<string> {
    const k = 12;
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

/** Asserts a well-formed problem document with a known code, and returns the code. */
export function problemCode(res: Response): string {
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, `${res.status} ${res.text}`);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  assert.equal(typeof body.code, 'string');
  assert.ok(KNOWN_CODES.has(body.code as BrokerErrorCode), `unknown code ${String(body.code)}`);
  assert.equal(body.status, res.status);
  assert.equal(body.type, `tag:cognito-identity-broker,2026:${String(body.code)}`);
  assert.equal(typeof body.title, 'string');
  assert.deepEqual(
    Object.keys(body).filter((k) => !['type', 'title', 'status', 'code', 'detail'].includes(k)),
    [],
  );
  assert.doesNotMatch(res.text, /\bat .+\.(ts|js):\d+/, 'no stack trace');
  assert.equal(res.headers['cache-control'], 'no-store');
  if (res.status === 429 || res.status === 503) assert.match(String(res.headers['retry-after']), /^\d+$/);
  return body.code as string;
}

/** `count` demo users whose ids are hostile to naive cache keys: separators, quotes, unicode, 1024 chars. */
export function hostileUsers(count: number): DemoUser[] {
  const shapes = [
    (i: number) => `user-${i}`,
    (i: number) => `a|b:${i}`,
    (i: number) => `a|b:${i}|`,
    (i: number) => `"]["token","${i}`,
    (i: number) => `ユーザー-${i}-😀`,
    (i: number) => `${'x'.repeat(1000)}${String(i).padStart(24, '0')}`,
    (i: number) => `x\\u0000${i}`,
    (i: number) => `${i}`,
  ];
  return Array.from({ length: count }, (_, i) => ({
    id: shapes[i % shapes.length]!(i),
    username: `u${i}`,
    name: `User ${i}`,
    password: `pw-${i}-correct-horse`,
  }));
}

/** A running example app on a real broker and a restartable emulator. */
export interface SecurityStack {
  readonly app: Express;
  readonly broker: Broker;
  /** The current emulator (a new object after {@link restartEmulator}). */
  emulator(): RunningEmulator;
  readonly users: readonly DemoUser[];
  readonly identityPoolId: string;
  logText(): string;
  /** Characters held by the in-memory log capture (test memory, not the product's). */
  logChars(): number;
  /** Stops the emulator: Cognito becomes unreachable (connection refused). */
  stopEmulator(): Promise<void>;
  /** Starts the emulator again on the same port with the same state: Cognito comes back. */
  restartEmulator(): Promise<void>;
  stop(): Promise<void>;
}

export interface SecurityStackOptions {
  readonly broker?: Partial<BrokerOptions>;
  readonly app?: Partial<AppDeps>;
  readonly users?: readonly DemoUser[];
}

/** Starts the stack on 127.0.0.1:0 (the emulator keeps its state in a temporary folder). */
export async function startSecurityStack(options: SecurityStackOptions = {}): Promise<SecurityStack> {
  const dir = mkdtempSync(join(tmpdir(), 'cib-security-'));
  const stateFile = join(dir, 'state.json');
  let emulator = await startEmulator({ host: '127.0.0.1', port: 0, seed: [DEMO_POOL], stateFile });
  const port = emulator.port;
  const memory = memoryLogger();
  const pool = emulator.pools[0]!;
  // maxAttempts 1: each fault reaches the broker at once instead of after SDK backoff.
  const client = emulatorClient(emulator);
  const broker = createBroker({
    identityPoolId: pool.identityPoolId,
    developerProviderName: DEMO_POOL.developerProviderName,
    client,
    logger: memory.logger,
    // These suites drive a few users hard on purpose (faults, fuzzing, soak): the per-user budget
    // would answer them 429; the operation buckets stay on. The budget has its own tests.
    quota: { perUser: false },
    ...options.broker,
  });
  const users = options.users ?? hostileUsers(8);
  const app = createApp({
    broker,
    sessionSecret: 'security-suite-session-secret',
    logger: memory.logger,
    demoProvider: DEMO_PROVIDER,
    users,
    rateLimit: false,
    mintProviderToken: (provider, subject) => emulator.mintProviderToken(provider, subject),
    ...options.app,
  });
  let running = true;
  return {
    app,
    broker,
    emulator: () => emulator,
    users,
    identityPoolId: pool.identityPoolId,
    logText: () => memory.text(),
    logChars: () => memory.lines.reduce((n, l) => n + l.length, 0),
    async stopEmulator() {
      if (!running) return;
      running = false;
      await emulator.stop();
    },
    async restartEmulator() {
      if (running) return;
      emulator = await startEmulator({ host: '127.0.0.1', port, seed: [DEMO_POOL], stateFile });
      running = true;
    },
    async stop() {
      client.destroy();
      if (running) await emulator.stop();
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Collects `unhandledRejection` and `uncaughtException` events while `fn` runs. */
export async function withCrashWatch<T>(fn: () => Promise<T>): Promise<T> {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    seen.push(reason);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onRejection);
  try {
    const out = await fn();
    // Let late rejections surface before judging.
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen.map(String), [], 'no unhandled rejection or uncaught exception');
    return out;
  } finally {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onRejection);
  }
}
