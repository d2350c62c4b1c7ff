import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { CliError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { downloadMsmarcoCollection } from '../hub/msmarco.js';
import { refuseOverwrite } from '../overwrite.js';
import { sampleCollection, type CollectionSample } from './collection.js';
import { DEFAULT_PASSAGES_PATH, encodePassages, type Passage } from './format.js';
import { syntheticPassages } from './synthetic.js';

/** Above this the sample no longer fits comfortably in memory; the project works with 100K. */
export const MAX_PASSAGES = 2_000_000;

const integerOption = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `--${name} must be a whole number`)
    .transform(Number)
    .pipe(z.number().min(min, `--${name} must be at least ${min}`).max(max, `--${name} must be at most ${max}`));

const prepareOptionsSchema = z.object({
  source: z.string().trim().min(1, '--source must be msmarco, synthetic or the path of a collection .tsv'),
  count: integerOption('count', 1, MAX_PASSAGES),
  seed: integerOption('seed', 0, 2 ** 32 - 1),
  out: z.string().trim().min(1, '--out must name a file').default(DEFAULT_PASSAGES_PATH),
  cacheDir: z.string().trim().min(1, '--cache-dir must name a folder'),
  force: z.boolean().default(false),
});
export type PrepareOptions = z.infer<typeof prepareOptionsSchema>;

export interface PrepareReport {
  written: number;
  out: string;
  source: string;
  seed: number;
  seconds: number;
  /** Present for the msmarco and .tsv sources. */
  collection?: Omit<CollectionSample, 'passages'> & { path: string };
}

/** Validates raw option values (strings from the command line) into {@link PrepareOptions}. */
export function parsePrepareOptions(raw: Record<string, unknown>): PrepareOptions {
  const parsed = prepareOptionsSchema.safeParse(raw);
  if (!parsed.success) throw new CliError(parsed.error.issues[0]?.message ?? 'invalid options');
  return parsed.data;
}

/**
 * Writes `count` passages to `out` as JSON Lines, atomically (temp file + rename): generated
 * (`synthetic`), sampled from a local collection.tsv, or from MS MARCO downloaded from the Hub.
 */
export async function preparePassages(options: PrepareOptions): Promise<PrepareReport> {
  const started = performance.now();
  await checkWritable(options.out, options.force);
  let passages: Passage[];
  let collection: PrepareReport['collection'];
  if (options.source === 'synthetic') {
    passages = syntheticPassages(options.count, options.seed);
  } else {
    const path =
      options.source === 'msmarco'
        ? await downloadMsmarcoCollection({ cacheDir: options.cacheDir })
        : await existingFile(options.source);
    const { passages: sampled, ...counts } = await sampleCollection(path, { count: options.count, seed: options.seed });
    if (sampled.length === 0) {
      throw new CliError(`${path} holds no "pid<TAB>passage" lines (${counts.malformedLines} malformed of ${counts.lines})`);
    }
    passages = sampled;
    collection = { ...counts, path };
  }
  try {
    await writeFileAtomic(options.out, encodePassages(passages));
  } catch (error) {
    throw new CliError(`cannot write ${options.out}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return {
    written: passages.length,
    out: options.out,
    source: options.source,
    seed: options.seed,
    seconds: (performance.now() - started) / 1000,
    ...(collection === undefined ? {} : { collection }),
  };
}

async function existingFile(path: string): Promise<string> {
  const stats = await stat(path).catch(() => undefined);
  if (stats === undefined) {
    throw new CliError(`--source ${path}: no such file (expected msmarco, synthetic or the path of a collection .tsv)`);
  }
  if (!stats.isFile()) throw new CliError(`--source ${path} is not a file`);
  return path;
}

/** Fails before any work when the output cannot be written, or exists and `force` is not set. */
async function checkWritable(out: string, force: boolean): Promise<void> {
  const directory = dirname(resolve(out));
  try {
    await mkdir(directory, { recursive: true });
    await access(directory, constants.W_OK);
  } catch (error) {
    throw new CliError(`cannot write ${out}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if ((await stat(out).catch(() => undefined))?.isDirectory()) throw new CliError(`cannot write ${out}: it is a directory`);
  await refuseOverwrite(out, force);
}
