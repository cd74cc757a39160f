import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A wire protocol served at `POST /` (AWS JSON 1.1 today; AWS query for STS can sit beside it on
 * the same endpoint). The server reads the body (bounded by server.ts's `MAX_BODY_BYTES`) and hands it to
 * the first protocol that accepts the request.
 */
export interface ApiProtocol {
  /** For logs and tests, e.g. `awsJson1_1`. */
  readonly name: string;
  /** Whether this protocol answers the request, from its headers alone. */
  accepts(req: IncomingMessage): boolean;
  /** Answers the request. May reject: the server then answers 500 InternalErrorException. */
  handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void>;
}
