import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { HubError } from '../src/hub/errors.js';
import { downloadMsmarcoCollection, MSMARCO_CORPUS } from '../src/hub/msmarco.js';
import { withHubTestServer } from './hub-test-server.js';

async function datasetFolder(lines: string[]): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'msmarco-hub-'));
  await writeFile(join(folder, MSMARCO_CORPUS.path), gzipSync(lines.join('\n') + '\n'));
  await writeFile(join(folder, 'README.md'), 'BEIR msmarco\n');
  return folder;
}

describe('downloadMsmarcoCollection', () => {
  it('downloads the BEIR corpus and writes collection.tsv, then reuses it', async () => {
    const folder = await datasetFolder([
      JSON.stringify({ _id: '0', title: '', text: 'The presence of communication amid scientific minds.' }),
      JSON.stringify({ _id: '1', title: '', text: 'A passage\twith a tab\nand a newline.' }),
      JSON.stringify({ _id: 2, title: 'ignored', text: '  padded  ' }),
    ]);
    try {
      await withHubTestServer({ datasets: { [MSMARCO_CORPUS.repo.id]: folder }, requiredToken: 'hf_data' }, async (server, cacheDir) => {
        const path = await downloadMsmarcoCollection({ cacheDir, endpoint: server.endpoint, token: 'hf_data' });
        assert.equal(
          await readFile(path, 'utf8'),
          '0\tThe presence of communication amid scientific minds.\n1\tA passage with a tab and a newline.\n2\tpadded\n',
        );
        assert.ok(
          server.requests.some((request) => request.path === `/datasets/BeIR/msmarco/resolve/${MSMARCO_CORPUS.repo.revision}/corpus.jsonl.gz`),
        );
        const requestsBefore = server.requests.length;
        assert.equal(await downloadMsmarcoCollection({ cacheDir, endpoint: server.endpoint, token: 'hf_data' }), path);
        assert.equal(server.requests.length, requestsBefore);
      });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('names the line of a malformed record and leaves no collection behind', async () => {
    const folder = await datasetFolder([JSON.stringify({ _id: '0', text: 'fine' }), JSON.stringify({ id: '1', body: 'wrong keys' })]);
    try {
      await withHubTestServer({ datasets: { [MSMARCO_CORPUS.repo.id]: folder } }, async (server, cacheDir) => {
        await assert.rejects(downloadMsmarcoCollection({ cacheDir, endpoint: server.endpoint }), (error: unknown) => {
          assert.ok(error instanceof HubError);
          assert.equal(error.reason, 'format');
          assert.match(error.message, /line 2 lacks a string "_id" and "text"/);
          return true;
        });
        assert.equal(existsSync(join(cacheDir, 'msmarco', 'collection.tsv')), false);
        assert.equal(existsSync(join(cacheDir, 'msmarco', 'collection.tsv.incomplete')), false);
      });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('fails fast with the offline message when the endpoint is unreachable', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'msmarco-cache-'));
    try {
      await assert.rejects(
        downloadMsmarcoCollection({ cacheDir, endpoint: 'http://msmarco-mirror.invalid' }),
        /cannot reach the Hugging Face Hub at http:\/\/msmarco-mirror\.invalid/,
      );
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});
