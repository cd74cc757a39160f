import { deflateRawSync } from 'node:zlib';
import { ServiceError } from '../service-error.js';

/**
 * The packed size (deflated) that is 100 % of what a session's policies may take. STS does not
 * document its packing; the emulator deflates the policy (whitespace removed) and the policy ARNs,
 * so that a policy that compresses badly can pass the 2,048-character limit of the model and still be
 * refused, as STS refuses it, and the answer's `PackedPolicySize` grows with the policies as STS's does.
 */
export const PACKED_POLICY_BYTES = 1024;

const VERSIONS = new Set(['2012-10-17', '2008-10-17']);
const TOP_LEVEL = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_KEYS = new Set([
  'Sid',
  'Effect',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
  'Principal',
  'NotPrincipal',
]);

function malformed(message: string): ServiceError {
  return new ServiceError('MalformedPolicyDocument', message, 400);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A non-empty string, or a non-empty array of them (IAM's form of Action, Resource and their Not… forms). */
function isStringOrList(v: unknown): boolean {
  const isName = (x: unknown): boolean => typeof x === 'string' && x !== '';
  return isName(v) || (Array.isArray(v) && v.length > 0 && v.every(isName));
}

/**
 * Checks a session policy's grammar as IAM reads it: a JSON object of `Version` (2012-10-17 or
 * 2008-10-17), `Id` and `Statement` (one statement or a non-empty list), each statement with
 * `Effect` Allow or Deny, `Action` or `NotAction`, `Resource` or `NotResource`, and no `Principal`
 * (a session policy has none). The policy is not enforced: there is no IAM.
 * @returns the policy without insignificant whitespace.
 * @throws ServiceError MalformedPolicyDocument (400).
 */
export function checkSessionPolicy(policy: string): string {
  let doc: unknown;
  try {
    doc = JSON.parse(policy);
  } catch {
    throw malformed('The policy is not in the valid JSON format.');
  }
  if (!isRecord(doc)) throw malformed('The policy is not in the valid JSON format.');
  const syntax = (): ServiceError => malformed('Syntax errors in policy.');
  for (const key of Object.keys(doc)) if (!TOP_LEVEL.has(key)) throw syntax();
  if (doc.Version !== undefined && (typeof doc.Version !== 'string' || !VERSIONS.has(doc.Version))) throw syntax();
  const statements = Array.isArray(doc.Statement) ? (doc.Statement as unknown[]) : [doc.Statement];
  if (statements.length === 0) throw syntax();
  for (const s of statements) {
    if (!isRecord(s)) throw syntax();
    for (const key of Object.keys(s)) if (!STATEMENT_KEYS.has(key)) throw syntax();
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw syntax();
    if (s.Principal !== undefined || s.NotPrincipal !== undefined) {
      throw malformed('Policy document should not specify a principal.');
    }
    const action = s.Action ?? s.NotAction;
    const resource = s.Resource ?? s.NotResource;
    if ((s.Action !== undefined) === (s.NotAction !== undefined) || !isStringOrList(action)) throw syntax();
    if ((s.Resource !== undefined) === (s.NotResource !== undefined) || !isStringOrList(resource)) throw syntax();
    if (s.Condition !== undefined && !isRecord(s.Condition)) throw syntax();
  }
  return JSON.stringify(doc);
}

/**
 * The packed size of a session's policies, in percent of the most STS takes (see
 * {@link PACKED_POLICY_BYTES}); `undefined` when there are none.
 * @throws ServiceError PackedPolicyTooLarge (400) past 100 %.
 */
export function packedPolicySize(policy: string | undefined, policyArns: readonly string[]): number | undefined {
  if (policy === undefined && policyArns.length === 0) return undefined;
  const packed = deflateRawSync(Buffer.from([policy ?? '', ...policyArns].join('\n'), 'utf8')).length;
  const percent = Math.max(1, Math.ceil((packed * 100) / PACKED_POLICY_BYTES));
  if (percent > 100) {
    throw new ServiceError(
      'PackedPolicyTooLarge',
      `Packed size of consolidated policies exceeds the limit: ${String(percent)}% of the maximum.`,
      400,
    );
  }
  return percent;
}
