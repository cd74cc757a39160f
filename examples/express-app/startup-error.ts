// What config.ts and fleet-config.ts share: the error a bad setting stops the start with, and how a
// variable is read and quoted.

/** A start the app refuses: `message` names the problem, `fix` says what to run instead. */
export class StartupError extends Error {
  readonly fix: string;
  /** The process exit code: 2 for a bad setting, 1 for a failure to start with good settings. */
  readonly exitCode: 1 | 2;
  constructor(message: string, fix: string, exitCode: 1 | 2 = 2) {
    super(message);
    this.name = 'StartupError';
    this.fix = fix;
    this.exitCode = exitCode;
  }

  /** The one line the app prints before it exits. */
  line(): string {
    return `cannot start the example app: ${this.message}. ${this.fix}`;
  }
}

/** The environment as the app reads it. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A value quoted for a message: JSON escapes control characters, and long values are cut. */
export function shown(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

/** The variable's value; an empty value (`PORT= npm start`) means unset, as for most shells' tools. */
export function set(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}
