// A module resolve hook that fails any import of express or passport (used to prove the package
// root loads neither at runtime).
export async function resolve(specifier, context, next) {
  if (specifier === 'express' || specifier === 'passport' || specifier.startsWith('express/')) {
    throw new Error(`loaded ${specifier}`);
  }
  return next(specifier, context);
}
