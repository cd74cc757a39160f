/** The `src/client` bundle's text (minified ESM, the AWS SDK external); `contents` bundles that code instead. */
export function bundleClient(options?: { contents?: string }): Promise<string>;
/** Bytes of `text` as UTF-8, and gzipped at level 9. */
export function sizes(text: string): { minified: number; gzipped: number };
