import type { BrokerError } from '../../errors.js';

/**
 * The governor's refusal as it travels through the AWS SDK from the default client's per-attempt
 * middleware: named `AbortError`, which the SDK's retry strategy neither retries nor charges to its
 * retry quota. {@link refusalOf} turns it back into the `BrokerError` it carries.
 */
export class QuotaRefusal extends Error {
  override readonly name = 'AbortError';
  readonly error: BrokerError;

  constructor(error: BrokerError) {
    super('Refused by the quota governor');
    this.error = error;
  }
}

/** The `BrokerError` of a governor refusal, or `undefined` when `err` is something else. */
export function refusalOf(err: unknown): BrokerError | undefined {
  return err instanceof QuotaRefusal ? err.error : undefined;
}
