#!/usr/bin/env node
// Bundles `src/client` (the `cognito-identity-broker/client` entry) for browsers with esbuild: one
// ES module, minified, the AWS SDK left out (its only imports are type-only, and the SDK is the
// app's own). The example app serves this bundle; `npm run size` prints its size.
//
//   npm run size            → minified and gzipped bytes of the entry, and of fromBroker alone
import { Buffer } from 'node:buffer';
import { gzipSync } from 'node:zlib';
import { fileURLToPath, URL } from 'node:url';
import { build } from 'esbuild';

const ENTRY = fileURLToPath(new URL('../src/client/index.ts', import.meta.url));

/** The bundle's text. `contents` bundles that code instead of the whole entry (imports resolve from src/client). */
export async function bundleClient({ contents } = {}) {
  const result = await build({
    ...(contents === undefined
      ? { entryPoints: [ENTRY] }
      : { stdin: { contents, resolveDir: fileURLToPath(new URL('../src/client/', import.meta.url)), loader: 'ts' } }),
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    external: ['@aws-sdk/*', '@smithy/*'],
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (file === undefined) throw new Error('esbuild produced no output');
  return file.text;
}

/** Bytes of `text` as UTF-8 and gzipped at level 9. */
export function sizes(text) {
  return { minified: Buffer.byteLength(text), gzipped: gzipSync(text, { level: 9 }).length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const all = sizes(await bundleClient());
  const fromBroker = sizes(await bundleClient({ contents: "export { fromBroker } from './index.ts';" }));
  process.stdout.write(
    `cognito-identity-broker/client, minified + gzipped, without the AWS SDK:\n` +
      `  whole entry: ${all.gzipped} bytes gzipped (${all.minified} minified)\n` +
      `  fromBroker alone: ${fromBroker.gzipped} bytes gzipped (${fromBroker.minified} minified)\n`,
  );
}
