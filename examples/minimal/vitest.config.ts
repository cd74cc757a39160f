import { defineConfig } from 'vitest/config';

export default defineConfig({
  // This repository only: `cognito-identity-broker` is src/, through tsconfig.json's `paths`.
  resolve: { tsconfigPaths: true },
  test: { include: ['examples/minimal/app.vitest.test.ts'] },
});
