import { pino, type Logger } from 'pino';

/**
 * pino redaction paths for the fields that may carry secrets in an app's own log lines: Cognito and
 * provider tokens, `Logins` maps, AWS secret keys and session tokens, and the request headers that
 * carry sessions. Merge them into the **root** logger (`pino({ redact: [...redactPaths, ...yours] })`);
 * never pass `redact` to `child()`, because pino then replaces the parent's list instead of adding
 * to it.
 *
 * The broker itself never logs these fields; the list is a second line of defence.
 */
export const redactPaths: readonly string[] = Object.freeze([
  'token',
  '*.token',
  'providerToken',
  '*.providerToken',
  'logins',
  '*.logins',
  'Logins',
  '*.Logins',
  'secretAccessKey',
  '*.secretAccessKey',
  'SecretKey',
  '*.SecretKey',
  'sessionToken',
  '*.sessionToken',
  'SessionToken',
  '*.SessionToken',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-amz-security-token"]',
  'res.headers["set-cookie"]',
]);

/** The `component` binding of every broker log line. */
export const BROKER_LOG_COMPONENT = 'cognito-broker';

/**
 * The broker's child logger: `logger.child({ component: 'cognito-broker' })`, or a child of a silent
 * pino instance when no logger is given. No `redact` option is passed to `child()` (see
 * {@link redactPaths}).
 */
export function brokerLogger(logger?: Logger): Logger {
  return (logger ?? pino({ level: 'silent' })).child({ component: BROKER_LOG_COMPONENT });
}
