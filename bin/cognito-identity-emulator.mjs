#!/usr/bin/env node
// The `cognito-identity-emulator` bin. Installed from npm it runs the built `dist/emulator/cli.js`.
// In a checkout of this repository before `npm run build` (`npx cognito-identity-emulator` there)
// there is no dist/: it runs the TypeScript source through tsx, a devDependency.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

const built = new URL('../dist/emulator/cli.js', import.meta.url);
const source = new URL('../src/emulator/cli.ts', import.meta.url);

function fail(message) {
  process.stderr.write(`cognito-identity-emulator: ${message}\n`);
  process.exit(1);
}

if (existsSync(built)) {
  import(built.href).catch((err) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err)));
} else if (existsSync(source)) {
  import('tsx').then(
    () => import(source.href),
    () => fail('dist/ is not built and tsx is missing: run `npm ci` (or `npm run build`) in the repository'),
  );
} else {
  fail('dist/emulator/cli.js is missing: reinstall the package');
}
