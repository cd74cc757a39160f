import assert from 'node:assert/strict';

/** Collects `unhandledRejection` and `uncaughtException` events while `fn` runs, and fails on any. */
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
