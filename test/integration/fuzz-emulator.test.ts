// Fuzzing every emulator operation with random JSON shaped after the service model (right and
// wrong types, lengths past the limits, real ids mixed in), sent raw with the JSON 1.1 headers and
// a dummy SigV4 header. Every answer is 200 with a JSON object or a well-formed AWS JSON error
// ({__type, message} and a matching x-amzn-ErrorType); never a 500; the emulator keeps serving.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import { startEmulator } from '../../src/emulator/index.js';
import { MODEL } from '../../src/emulator/model/model.js';
import type { RunningEmulator } from '../../src/emulator/types.js';
import { withCrashWatch } from '../helpers/crash-watch.js';

const SEED = 20_261_122;
const RUNS_PER_OPERATION = Number(process.env.FUZZ_EMULATOR_RUNS ?? 100);
const DEV = 'login.fuzz.app';
const FB = 'graph.facebook.com';
const JSON_11 = 'application/x-amz-json-1.1';
const DUMMY_SIGV4 = `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/cognito-identity/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=${'0'.repeat(64)}`;

/** Errors of the protocol (not modelled per operation) the emulator may answer with. */
const PROTOCOL_ERRORS = new Set([
  'ValidationException',
  'SerializationException',
  'UnknownOperationException',
  'MissingAuthenticationTokenException',
  'RequestEntityTooLargeException',
]);

let emu: RunningEmulator;
const known: string[] = [];
let cases = 0;
const types: Record<string, number> = {};

function dateHeader(): string {
  return new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

async function call(
  op: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string | null; text: string; contentType: string | null }> {
  const res = await fetch(emu.endpoint, {
    method: 'POST',
    headers: {
      'content-type': JSON_11,
      'x-amz-target': `AWSCognitoIdentityService.${op}`,
      authorization: DUMMY_SIGV4,
      'x-amz-date': dateHeader(),
      ...headers,
    },
    body,
    signal: AbortSignal.timeout(15_000),
  });
  cases += 1;
  return {
    status: res.status,
    type: res.headers.get('x-amzn-errortype'),
    text: await res.text(),
    contentType: res.headers.get('content-type'),
  };
}

function checkAnswer(
  op: string,
  r: { status: number; type: string | null; text: string; contentType: string | null },
): void {
  assert.equal(r.contentType, JSON_11, r.text);
  const body = JSON.parse(r.text) as unknown;
  assert.ok(typeof body === 'object' && body !== null && !Array.isArray(body), r.text);
  if (r.status === 200) {
    types.OK = (types.OK ?? 0) + 1;
    return;
  }
  assert.notEqual(r.status, 500, `${op}: ${r.text}`);
  assert.ok(r.status === 400 || r.status === 404 || r.status === 413, `${op}: ${r.status}`);
  const e = body as Record<string, unknown>;
  assert.equal(typeof e.__type, 'string');
  assert.equal(typeof e.message, 'string');
  assert.deepEqual(Object.keys(e).sort(), ['__type', 'message']);
  assert.equal(r.type, e.__type);
  const modelled = MODEL.operations[op]?.errors ?? [];
  assert.ok(
    modelled.includes(e.__type as string) || PROTOCOL_ERRORS.has(e.__type as string),
    `${op}: unexpected ${String(e.__type)}`,
  );
  types[e.__type as string] = (types[e.__type as string] ?? 0) + 1;
}

const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.string({ maxLength: 10 }),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
);

/** Strings that satisfy the member's pattern and length, so random input gets past validation. */
function matching(
  pattern: string | undefined,
  min: number,
  max: number,
): { weight: number; arbitrary: fc.Arbitrary<unknown> }[] {
  if (pattern === undefined)
    return [{ weight: 4, arbitrary: fc.string({ minLength: min, maxLength: Math.min(max, 40) }) }];
  try {
    // The model's patterns are trusted constants, not user input.
    // eslint-disable-next-line security/detect-non-literal-regexp
    const re = new RegExp(`^(?:${pattern})$`, 'u');
    return [{ weight: 4, arbitrary: fc.stringMatching(re).filter((v) => v.length >= min && v.length <= max) }];
  } catch {
    return [];
  }
}

/** An arbitrary for a model shape: usually well-typed (with real ids mixed in), sometimes not. */
function arbitraryFor(shapeName: string, memberName: string, depth: number, lax: boolean): fc.Arbitrary<unknown> {
  const shape = MODEL.shapes[shapeName];
  if (shape === undefined || depth > 4) return wrongType;
  let right: fc.Arbitrary<unknown>;
  switch (shape.type) {
    case 'string': {
      const max = shape.max ?? 64;
      const strictOnes = [
        ...(shape.enum ? [{ weight: 3, arbitrary: fc.constantFrom(...shape.enum) }] : []),
        ...matching(shape.pattern, shape.min ?? 0, max),
      ];
      right =
        lax || strictOnes.length === 0
          ? fc.oneof(
              {
                weight: 3,
                arbitrary: fc.constantFrom(
                  ...known,
                  DEV,
                  FB,
                  'cognito-identity.amazonaws.com',
                  'us-east-1:not-hex',
                  '',
                ),
              },
              { weight: 2, arbitrary: fc.string({ maxLength: Math.min(max + 2, 80), unit: 'grapheme' }) },
              { weight: 1, arbitrary: fc.constant('x'.repeat(max + 1)) },
              { weight: 2, arbitrary: fc.stringMatching(/^[\w-]{1,10}$/) },
              ...strictOnes,
            )
          : fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...known, DEV, FB) }, ...strictOnes);
      break;
    }
    case 'integer':
    case 'long':
      right = fc.oneof(fc.integer({ min: -5, max: 100_000 }), fc.constantFrom(0, 1, 60, 86_400, 86_401, 2 ** 53));
      break;
    case 'double':
    case 'float':
      right = fc.double();
      break;
    case 'boolean':
      right = fc.boolean();
      break;
    case 'timestamp':
      right = fc.oneof(fc.integer(), fc.string({ maxLength: 20 }));
      break;
    case 'structure': {
      const members = Object.entries(shape.members ?? {});
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, s] of members) model[name] = arbitraryFor(s, name, depth + 1, lax);
      const required = (shape.required ?? []).filter((k) => k in model);
      right = fc.oneof(
        { weight: 4, arbitrary: fc.record(model, { requiredKeys: required }) },
        { weight: 1, arbitrary: fc.record(model, { requiredKeys: [] }) },
      );
      break;
    }
    case 'list':
      right = fc.array(arbitraryFor(shape.member ?? '', memberName, depth + 1, lax), {
        maxLength: (shape.max ?? 3) + 1 > 12 ? 12 : (shape.max ?? 3) + 1,
      });
      break;
    case 'map':
      right = fc.dictionary(
        fc.oneof(
          fc.constantFrom(DEV, FB, 'cognito-identity.amazonaws.com', 'accounts.google.com'),
          fc.string({ maxLength: 20 }),
        ),
        arbitraryFor(shape.value ?? '', memberName, depth + 1, lax),
        { maxKeys: 12 },
      );
      break;
    default:
      right = wrongType;
  }
  return lax ? fc.oneof({ weight: 40, arbitrary: right }, { weight: 1, arbitrary: wrongType }) : right;
}

function inputFor(op: string): fc.Arbitrary<string> {
  const shape = MODEL.operations[op]?.input;
  const lax = shape === null || shape === undefined ? fc.constant({}) : arbitraryFor(shape, 'input', 0, true);
  const strict = shape === null || shape === undefined ? fc.constant({}) : arbitraryFor(shape, 'input', 0, false);
  return fc.oneof(
    { weight: 4, arbitrary: lax.map((v) => JSON.stringify(v)) },
    { weight: 5, arbitrary: strict.map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom('', '{', '[]', 'null', '"x"', '{"IdentityPoolId":', '\u0000') },
  );
}

void describe('fuzzing every emulator operation', () => {
  before(async () => {
    emu = await startEmulator({
      seed: [
        {
          name: 'fuzz',
          developerProviderName: DEV,
          allowUnauthenticatedIdentities: true,
          supportedLoginProviders: { [FB]: 'fb-app' },
        },
        { name: 'fuzz-2', developerProviderName: 'login.other.app' },
      ],
    });
    // Real ids, so that random inputs also reach the semantic checks behind validation.
    for (const p of emu.pools) known.push(p.identityPoolId);
    const dev = JSON.parse(
      (
        await call(
          'GetOpenIdTokenForDeveloperIdentity',
          JSON.stringify({ IdentityPoolId: emu.pools[0]!.identityPoolId, Logins: { [DEV]: 'fuzz-user' } }),
        )
      ).text,
    ) as { IdentityId: string; Token: string };
    known.push(dev.IdentityId, dev.Token, 'fuzz-user', emu.mintProviderToken(FB, 'fb-fuzz'));
    const guest = JSON.parse(
      (await call('GetId', JSON.stringify({ IdentityPoolId: emu.pools[0]!.identityPoolId }))).text,
    ) as { IdentityId: string };
    known.push(guest.IdentityId);
  });
  after(async () => {
    await emu.stop();
  });

  for (const op of Object.keys(MODEL.operations).sort()) {
    void it(`${op}: 200 or a well-formed AWS JSON error for random input, never 500`, () =>
      withCrashWatch(async () => {
        await fc.assert(
          fc.asyncProperty(inputFor(op), async (body) => {
            checkAnswer(op, await call(op, body));
          }),
          { seed: SEED, numRuns: RUNS_PER_OPERATION, endOnFailure: true },
        );
      }));
  }

  void it('refuses random targets, content types and an oversized body with well-formed errors', () =>
    withCrashWatch(async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.string({ maxLength: 60 }).map((v) => v.replace(/[^\x20-\x7e]/g, '')),
          fc.string({ maxLength: 40 }).map((v) => v.replace(/[^\x20-\x7e]/g, '')),
          async (target, type) => {
            const r = await call('x', '{}', { 'x-amz-target': target, 'content-type': type || 'text/plain' });
            assert.equal(r.status, 400);
            checkAnswer('x', r);
          },
        ),
        { seed: SEED, numRuns: RUNS_PER_OPERATION, endOnFailure: true },
      );
      const big = await call('GetId', JSON.stringify({ IdentityPoolId: known[0], pad: 'x'.repeat(1024 * 1024) }));
      assert.equal(big.status, 413);
      assert.equal(big.type, 'RequestEntityTooLargeException');
    }));

  void it('still serves the developer flow after the fuzzing', async (t: TestContext) => {
    const r = await call(
      'GetOpenIdTokenForDeveloperIdentity',
      JSON.stringify({ IdentityPoolId: emu.pools[0]!.identityPoolId, Logins: { [DEV]: 'after-fuzz' } }),
    );
    // The pool may have been deleted by a random DeleteIdentityPool: both answers are well-formed.
    checkAnswer('GetOpenIdTokenForDeveloperIdentity', r);
    t.diagnostic(`emulator fuzz cases: ${cases}; error types ${JSON.stringify(types)}`);
  });
});
