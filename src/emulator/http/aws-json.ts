import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultController } from '../faults.js';
import { MODEL } from '../model/model.js';
import type { OperationName, OperationTypes } from '../model/shapes.js';
import type { CognitoIdentityService } from '../service/service.js';
import { ServiceError } from '../service-error.js';
import type { EmulatorCredentials } from '../types.js';
import { JSON_11, send, sendError } from './respond.js';
import type { ApiProtocol } from './server.js';
import { checkSigV4 } from './sigv4.js';
import { SerializationError, Validator, validationMessage } from './validate.js';

const TARGET_PREFIX = `${MODEL.targetPrefix}.`;

/** What the AWS JSON 1.1 protocol needs. */
export interface AwsJsonDeps {
  readonly service: CognitoIdentityService;
  readonly faults: FaultController;
  readonly validator?: Validator;
  /** Verify SigV4 signatures against these keys (else only the header's presence and form). */
  readonly strictSigV4?: readonly EmulatorCredentials[];
  /** Epoch milliseconds. */
  readonly now: () => number;
  /**
   * Runs a (synchronous) service call; when the call changed state, the result comes once the
   * change is on disk, and a failed write rejects. Absent: state lives in memory only.
   */
  readonly durable?: <T>(op: () => T) => T | Promise<T>;
}

interface OperationInfo {
  readonly name: OperationName;
  readonly input: string | null;
  readonly public: boolean;
}

function isOperationName(service: CognitoIdentityService, name: string): name is OperationName {
  return Object.hasOwn(service.handlers, name);
}

/**
 * Cognito Identity's wire protocol, AWS JSON 1.1: `POST /` with `X-Amz-Target:
 * AWSCognitoIdentityService.<Operation>`. Per call, in the service's order: the target, the content
 * type, SigV4 on developer operations, throttling and injected faults, the JSON body, validation
 * against the model, then the operation's handler with the typed input.
 */
export function awsJsonProtocol(deps: AwsJsonDeps): ApiProtocol {
  const validator = deps.validator ?? new Validator();
  const operations = new Map<string, OperationInfo>();
  for (const [name, op] of Object.entries(MODEL.operations)) {
    if (!isOperationName(deps.service, name)) continue;
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
    // The one cast from wire to type: the validator has checked the body against the operation's
    // input shape (JSON types, required members, constraints). Optional members may still be
    // JSON null, which the handlers treat as absent.
    const typed = input as OperationTypes[typeof op.name]['input'];
    const call = (): unknown => deps.service.call(op.name, typed);
    let output: unknown;
    try {
      output = deps.durable === undefined ? call() : deps.durable(call);
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
