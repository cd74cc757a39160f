import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultController } from '../faults.js';
import { MODEL } from '../model/model.js';
import type { OperationName, OperationTypes } from '../model/shapes.js';
import type { QuotaLimiter } from '../quotas.js';
import type { CognitoIdentityService } from '../service/service.js';
import { ServiceError } from '../service-error.js';
import { isRegion } from '../tokens.js';
import type { EmulatorCredentials } from '../types.js';
import { JSON_11, send, sendError } from './respond.js';
import type { ApiProtocol } from './protocol.js';
import { checkSigV4 } from './sigv4.js';
import { SerializationError, Validator, validationMessage } from './validate.js';

const TARGET_PREFIX = `${MODEL.targetPrefix}.`;

/** The emulated account's services by region (see `RegionalServices`). */
export interface RegionResolver {
  /** The region's service, or undefined when the region has never been used. */
  get(region: string): CognitoIdentityService | undefined;
  /** The region's service, created on first use. Rejects with a RangeError past the limit of regions. */
  ensure(region: string): Promise<CognitoIdentityService>;
}

/** What the AWS JSON 1.1 protocol needs. */
export interface AwsJsonDeps {
  readonly regions: RegionResolver;
  /** The region of unsigned calls that name no region. */
  readonly defaultRegion: string;
  /** The documented rate quotas, when they are enforced. */
  readonly quotas?: QuotaLimiter;
  readonly faults: FaultController;
  readonly validator?: Validator;
  /** Verify SigV4 signatures against these keys (else only the header's presence and form). */
  readonly strictSigV4?: readonly EmulatorCredentials[];
  /** Epoch milliseconds. */
  readonly now: () => number;
  /**
   * Runs a (synchronous) service call in a region; the result comes once every change of that
   * region made until the call ended is on disk (its own, and those it may have read); a
   * ServiceError of the call also comes then (a rejection when it waited), and a failed write
   * rejects with an error that is no ServiceError. Absent: state lives in memory only.
   */
  readonly durable?: <T>(region: string, op: () => T) => T | Promise<T>;
}

interface OperationInfo {
  readonly name: OperationName;
  readonly input: string | null;
  readonly public: boolean;
}

/** The operations a region's service answers; the compiler checks this list against the model's types. */
const OPERATION_NAMES: Readonly<Record<OperationName, true>> = {
  CreateIdentityPool: true,
  DeleteIdentities: true,
  DeleteIdentityPool: true,
  DescribeIdentity: true,
  DescribeIdentityPool: true,
  GetCredentialsForIdentity: true,
  GetId: true,
  GetIdentityPoolRoles: true,
  GetOpenIdToken: true,
  GetOpenIdTokenForDeveloperIdentity: true,
  GetPrincipalTagAttributeMap: true,
  ListIdentities: true,
  ListIdentityPools: true,
  ListTagsForResource: true,
  LookupDeveloperIdentity: true,
  MergeDeveloperIdentities: true,
  SetIdentityPoolRoles: true,
  SetPrincipalTagAttributeMap: true,
  TagResource: true,
  UnlinkDeveloperIdentity: true,
  UnlinkIdentity: true,
  UntagResource: true,
  UpdateIdentityPool: true,
};

function isOperationName(name: string): name is OperationName {
  return Object.hasOwn(OPERATION_NAMES, name);
}

/** The id an unsigned call names (IdentityId, else IdentityPoolId), when it is a string. */
function namedId(input: Record<string, unknown>): string | undefined {
  const id = input.IdentityId ?? input.IdentityPoolId;
  return typeof id === 'string' ? id : undefined;
}

/** The region part of `REGION:GUID`, when it is one. */
function regionOfId(id: string | undefined): string | undefined {
  if (id === undefined) return undefined;
  const colon = id.indexOf(':');
  const region = colon < 0 ? '' : id.slice(0, colon);
  return isRegion(region) ? region : undefined;
}

/**
 * Cognito Identity's wire protocol, AWS JSON 1.1: `POST /` with `X-Amz-Target:
 * AWSCognitoIdentityService.<Operation>`. Per call, in the service's order: the target, the content
 * type, SigV4 on developer operations, injected faults, the JSON body, the region (the credential
 * scope's for a signed call, the named pool's or identity's for an unsigned one), the region's quota,
 * validation against the model, then the handler of the region's service with the typed input.
 */
export function awsJsonProtocol(deps: AwsJsonDeps): ApiProtocol {
  const validator = deps.validator ?? new Validator();
  const operations = new Map<string, OperationInfo>();
  for (const [name, op] of Object.entries(MODEL.operations)) {
    if (!isOperationName(name)) continue;
    operations.set(`${TARGET_PREFIX}${name}`, { name, input: op.input, public: op.public });
  }

  const handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const target = req.headers['x-amz-target'];
    const op = typeof target === 'string' ? operations.get(target) : undefined;
    if (op === undefined) {
      sendError(
        res,
        400,
        'UnknownOperationException',
        typeof target === 'string' ? `Unknown operation ${target}` : 'Missing X-Amz-Target header',
      );
      return;
    }
    const ct = req.headers['content-type'];
    if (typeof ct !== 'string' || ct.split(';')[0]?.trim().toLowerCase() !== JSON_11) {
      sendError(res, 400, 'SerializationException', `Unsupported Content-Type '${ct ?? ''}': expected ${JSON_11}.`);
      return;
    }
    // AWS authenticates before it throttles or fails a call: an unsigned call never uses up the
    // throttle budget nor sees an injected fault.
    let signedRegion: string | undefined;
    if (!op.public) {
      const auth = checkSigV4(
        { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body },
        deps.strictSigV4,
        deps.now(),
      );
      if (!auth.ok) {
        deps.faults.count(op.name);
        sendError(res, 400, auth.type, auth.message);
        return;
      }
      if (!isRegion(auth.region)) {
        deps.faults.count(op.name);
        sendError(res, 400, 'InvalidSignatureException', 'Credential should be scoped to a valid region.');
        return;
      }
      signedRegion = auth.region;
    }
    const fault = await deps.faults.apply(op.name, deps.now());
    if (fault !== null) {
      sendError(res, fault.status, fault.type, fault.message);
      return;
    }
    let input: unknown;
    try {
      input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      sendError(res, 400, 'SerializationException', 'The request body is not valid JSON.');
      return;
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      sendError(res, 400, 'SerializationException', 'The request body must be a JSON object.');
      return;
    }
    const named = op.public ? namedId(input as Record<string, unknown>) : undefined;
    const region = signedRegion ?? regionOfId(named) ?? deps.defaultRegion;
    if (deps.quotas !== undefined && !deps.quotas.take(region, op.name, deps.now())) {
      sendError(res, 400, 'TooManyRequestsException', 'Rate exceeded');
      return;
    }
    if (op.input !== null) {
      let errors: string[];
      try {
        errors = validator.validate(op.input, input);
      } catch (err) {
        if (err instanceof SerializationError) {
          sendError(res, 400, 'SerializationException', err.message);
          return;
        }
        throw err;
      }
      if (errors.length > 0) {
        sendError(res, 400, 'ValidationException', validationMessage(errors));
        return;
      }
    }
    if (deps.regions.get(region) === undefined) {
      if (op.public) {
        // Nothing exists in a region never used: answer as its (empty) service would, creating nothing.
        const what = op.name === 'GetId' ? 'IdentityPool' : 'Identity';
        sendError(res, 400, 'ResourceNotFoundException', `${what} '${named ?? ''}' not found.`);
        return;
      }
      try {
        await deps.regions.ensure(region);
      } catch (err) {
        if (!(err instanceof RangeError)) throw err;
        sendError(res, 400, 'LimitExceededException', `Region ${region} cannot be served: ${err.message}.`);
        return;
      }
    }
    // The one cast from wire to type: the validator has checked the body against the operation's
    // input shape (JSON types, required members, constraints). Optional members may still be
    // JSON null, which the handlers treat as absent.
    const typed = input as OperationTypes[typeof op.name]['input'];
    const call = (): unknown => {
      // A failed write of the state file replaces every region's service with the one on disk,
      // perhaps while this region was being created: the call goes to the current one.
      const svc = deps.regions.get(region);
      if (svc === undefined) {
        throw new ServiceError(
          'InternalErrorException',
          `The change could not be saved, so it was not made: region ${region} is not on disk.`,
        );
      }
      return svc.call(op.name, typed);
    };
    let output: unknown;
    try {
      output = deps.durable === undefined ? call() : deps.durable(region, call);
    } catch (err) {
      if (err instanceof ServiceError) {
        sendError(res, err.status, err.type, err.message);
        return;
      }
      throw err;
    }
    if (output instanceof Promise) {
      try {
        output = await output;
      } catch (err) {
        // An error answer that waited for the commits it read.
        if (err instanceof ServiceError) {
          sendError(res, err.status, err.type, err.message);
          return;
        }
        // Not acknowledged: the state went back to what is on disk.
        sendError(
          res,
          500,
          'InternalErrorException',
          `The change could not be saved, so it was not made: ${(err as Error).message}`,
        );
        return;
      }
    }
    send(res, 200, JSON.stringify(output ?? {}), JSON_11);
  };

  // The default protocol of `POST /`: it also answers requests no other protocol claims, with
  // UnknownOperationException when X-Amz-Target is missing.
  return { name: 'awsJson1_1', accepts: () => true, handle };
}
