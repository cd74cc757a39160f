/**
 * An error the emulator answers with: `{"__type": type, "message": message}`, HTTP `status`
 * (400, or 500 for `InternalErrorException`), header `x-amzn-ErrorType: type`.
 */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  /** The error shape name, e.g. `ResourceNotFoundException`. */
  readonly type: string;
  /** The HTTP status. */
  readonly status: number;

  constructor(type: string, message: string, status = type === 'InternalErrorException' ? 500 : 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}
