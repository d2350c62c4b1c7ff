import { readFileSync } from 'node:fs';

/** The embedbench package's version (bench/package.json; this file runs from bench/dist/src/). */
export const EMBEDBENCH_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
