import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { z } from 'zod';
import { HubClient, describeRepo, type HubRepo } from './client.js';
import { hubOptionsFromEnv } from './config.js';
import { HubError } from './errors.js';

/**
 * The 8,841,823 MS MARCO passages as BEIR publishes them: gzipped JSON Lines of
 * `{"_id": pid, "title": "", "text": passage}`. Pinned to a commit so every run reads the same bytes.
 */
export const MSMARCO_CORPUS = {
  repo: { type: 'dataset', id: 'BeIR/msmarco', revision: 'a34cc72b5fc811a13f5ae23b9a37af273e7bb631' } satisfies HubRepo,
  path: 'corpus.jsonl.gz',
} as const;

const corpusRecordSchema = z.object({ _id: z.union([z.string(), z.number()]), text: z.string() });

/**
 * Downloads the MS MARCO passage corpus (resumable, size- and sha256-checked) and converts it to the
 * collection.tsv format (`pid<TAB>passage`, one per line). Returns the path of that file; a second call
 * finds it in `cacheDir` and downloads nothing.
 */
export async function downloadMsmarcoCollection(options: { cacheDir: string; endpoint?: string; token?: string }): Promise<string> {
  const directory = join(options.cacheDir, 'msmarco');
  const collectionPath = join(directory, 'collection.tsv');
  if (await isFile(collectionPath)) return collectionPath;

  const client = new HubClient(hubOptionsFromEnv({ endpoint: options.endpoint, token: options.token }));
  const archivePath = join(directory, MSMARCO_CORPUS.path);
  try {
    const files = await client.listFiles(MSMARCO_CORPUS.repo);
    const corpus = files.find((file) => file.path === MSMARCO_CORPUS.path);
    if (corpus === undefined) {
      throw new HubError('not-found', `${describeRepo(MSMARCO_CORPUS.repo)} has no ${MSMARCO_CORPUS.path}`);
    }
    await mkdir(directory, { recursive: true });
    await client.downloadFile(MSMARCO_CORPUS.repo, corpus, archivePath);
  } finally {
    await client.close();
  }
  await convertCorpusToCollection(archivePath, collectionPath);
  return collectionPath;
}

/** Streams gzipped BEIR JSON Lines into collection.tsv through `<out>.incomplete`. */
export async function convertCorpusToCollection(archivePath: string, collectionPath: string): Promise<void> {
  const partialPath = `${collectionPath}.incomplete`;
  const lines = createInterface({ input: createReadStream(archivePath).pipe(createGunzip()), crlfDelay: Infinity });
  try {
    await pipeline(
      async function* toTsv() {
        let lineNumber = 0;
        for await (const line of lines) {
          lineNumber += 1;
          if (line.trim() === '') continue;
          const record = parseRecord(line, lineNumber, archivePath);
          yield `${String(record._id).replace(/\s+/g, ' ')}\t${record.text.replace(/\s+/g, ' ').trim()}\n`;
        }
      },
      createWriteStream(partialPath),
    );
  } catch (error) {
    await rm(partialPath, { force: true });
    if (error instanceof HubError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new HubError('format', `cannot read ${archivePath} as gzipped JSON Lines: ${detail}`);
  }
  await rename(partialPath, collectionPath);
}

function parseRecord(line: string, lineNumber: number, archivePath: string): z.infer<typeof corpusRecordSchema> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new HubError('format', `${archivePath} line ${lineNumber} is not JSON`);
  }
  const record = corpusRecordSchema.safeParse(value);
  if (!record.success) {
    throw new HubError('format', `${archivePath} line ${lineNumber} lacks a string "_id" and "text"`);
  }
  return record.data;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
