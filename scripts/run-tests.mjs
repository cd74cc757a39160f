#!/usr/bin/env node
// Runs node's test runner over every *.test.ts file under the given folders (Node 20's --test has no globs).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dirs = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));

function collect(dir) {
  let out = [];
  let entries;
  try {
    entries = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(collect(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = dirs.flatMap(collect);
if (files.length === 0) {
  console.error(`no test files under ${dirs.join(', ')}`);
  process.exit(1);
}
// Each test file's process drops the AWS SDK's NodeVersionSupportWarning and no other warning.
const quiet = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'drop-sdk-node-version-warning.mjs')).href;
const res = spawnSync(
  process.execPath,
  [
    '--import',
    quiet,
    '--import',
    'tsx',
    '--test',
    '--test-reporter=tap',
    '--test-concurrency=2',
    '--test-timeout=180000',
    ...flags,
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(res.status ?? 1);
