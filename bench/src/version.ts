import { readFileSync } from 'node:fs';

/** The version in bench/package.json (dist/src/version.js -> ../../package.json); every result file records it. */
export const EMBEDBENCH_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
