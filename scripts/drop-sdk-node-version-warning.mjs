// Preload (`node --import ./scripts/drop-sdk-node-version-warning.mjs …`) for the test runner and `npm start`.
//
// The AWS SDK for JavaScript v3 calls `process.emitWarning('NodeVersionSupportWarning: …')` (a plain
// `Warning` whose text starts with that name, nine lines long) from every client constructor on
// Node < 22 (@aws-sdk/core, emitWarningIfUnsupportedVersion). The README states which Node versions
// are supported, so this repository's own processes drop exactly that warning; every other warning
// (deprecations, experimental features, other SDK warnings) still reaches stderr as usual.
const NAME = 'NodeVersionSupportWarning';
const emitWarning = process.emitWarning;

/**
 * @param {unknown} warning
 * @param {unknown} typeOrOptions
 */
function isSdkNodeVersionWarning(warning, typeOrOptions) {
  const type =
    typeof typeOrOptions === 'string'
      ? typeOrOptions
      : typeof typeOrOptions === 'object' && typeOrOptions !== null && 'type' in typeOrOptions
        ? typeOrOptions.type
        : undefined;
  if (type === NAME) return true;
  if (warning instanceof Error) return warning.name === NAME || warning.message.startsWith(`${NAME}:`);
  return typeof warning === 'string' && warning.startsWith(`${NAME}:`);
}

process.emitWarning = function emitWarningExceptSdkNodeVersion(warning, ...rest) {
  if (isSdkNodeVersionWarning(warning, rest[0])) return;
  return Reflect.apply(emitWarning, this, [warning, ...rest]);
};
