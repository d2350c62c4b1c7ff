import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../fs/atomic.js';
import { fileURLToPath } from 'node:url';
import { parsePassagesJsonl, type Passage } from '@embedbench/loadtest/passages';
import { SYNTHETIC_MARKER_KEY } from '../model/config.js';
import { hubModelCacheDir } from '../model/fetch.js';
import type { ResultsIndex } from '../result-files/schemas.js';
import type { CompareSettings } from './options.js';

const CLI_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '../cli.js');

/** README's model, fetched when the Hub is reachable. */
export const QUICKSTART_HUB_MODEL = 'answerdotai/ModernBERT-base';
export const QUICKSTART_MODEL_DIR = 'models/ModernBERT-base';
export const QUICKSTART_SYNTHETIC_DIR = 'models/modernbert-base-synthetic';
const HUB_ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;

export interface ResolvedModel {
  readonly dir: string;
  readonly record: ResultsIndex['model'];
}

export class CompareInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CompareInputError';
  }
}

/** Runs `embedbench <args>` as a child process, its output shown on stderr; resolves to its exit code. */
function runCli(args: readonly string[], onOutput: (text: string) => void): Promise<number | null> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => onOutput(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => onOutput(chunk.toString()));
    child.once('error', () => done(null));
    child.once('close', (code) => done(code));
  });
}

/** True for weights made by `embedbench model synth`: its config.json carries the synthetic marker. */
export async function isSyntheticModel(modelDir: string): Promise<boolean> {
  const config = JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  return config[SYNTHETIC_MARKER_KEY] !== undefined;
}

const isModelDir = (dir: string): boolean => existsSync(join(dir, 'config.json'));

async function fetchHubModel(hubId: string, outDir: string, note: (text: string) => void): Promise<boolean> {
  if (isModelDir(outDir)) return true;
  note(`fetching ${hubId} into ${outDir} ...\n`);
  return (await runCli(['model', 'fetch', hubId, '--out', outDir], note)) === 0 && isModelDir(outDir);
}

/**
 * --model DIR is used as is; --model HUB_ID is fetched with `model fetch`; no --model (the
 * quickstart preset) fetches ModernBERT-base when the Hub answers, else synthesizes the
 * base-size ModernBERT, and says which in the record.
 */
export async function resolveModel(settings: CompareSettings, note: (text: string) => void): Promise<ResolvedModel> {
  const describe = async (dir: string, id: string, provenance: string): Promise<ResolvedModel> => ({
    dir,
    record: { id: settings.modelId ?? id, path: resolve(dir), synthetic: await isSyntheticModel(dir), provenance },
  });
  if (settings.model !== undefined) {
    if (isModelDir(settings.model)) return describe(settings.model, basename(resolve(settings.model)), `model directory given with --model ${settings.model}`);
    if (existsSync(settings.model)) throw new CompareInputError(`--model ${settings.model} has no config.json; is it a model directory?`);
    if (!HUB_ID.test(settings.model)) throw new CompareInputError(`--model ${settings.model}: no such directory, and not a Hugging Face id (owner/name)`);
    const outDir = hubModelCacheDir(settings.model);
    if (!(await fetchHubModel(settings.model, outDir, note))) {
      throw new CompareInputError(`--model ${settings.model}: not a directory, and \`embedbench model fetch ${settings.model}\` failed (see above)`);
    }
    return describe(outDir, settings.model, `fetched from the Hugging Face Hub into ${outDir}`);
  }
  if (await fetchHubModel(QUICKSTART_HUB_MODEL, QUICKSTART_MODEL_DIR, note)) {
    return describe(QUICKSTART_MODEL_DIR, QUICKSTART_HUB_MODEL, `quickstart preset: ${QUICKSTART_HUB_MODEL} from the Hugging Face Hub`);
  }
  note(`the Hub is not reachable: using the synthetic base-size ModernBERT in ${QUICKSTART_SYNTHETIC_DIR} instead\n`);
  if (!isModelDir(QUICKSTART_SYNTHETIC_DIR)) {
    const code = await runCli(['model', 'synth', '--arch', 'modernbert', '--size', 'base', '--seed', '42', '--out', QUICKSTART_SYNTHETIC_DIR], note);
    if (code !== 0) throw new CompareInputError(`\`embedbench model synth --size base --out ${QUICKSTART_SYNTHETIC_DIR}\` failed (see above)`);
  }
  return describe(
    QUICKSTART_SYNTHETIC_DIR,
    'modernbert-base-synthetic',
    `quickstart preset: ${QUICKSTART_HUB_MODEL} could not be fetched, so synthetic weights with its architecture and shapes were used`,
  );
}

export interface PreparedPassages {
  /** Absolute path of a file holding exactly `passages` (k6 reads it). */
  readonly path: string;
  readonly passages: readonly Passage[];
}

/** MS MARCO passages when the Hub answers, else synthetic English-like ones; the choice is printed. */
async function prepareQuickstartPassages(settings: CompareSettings, note: (text: string) => void): Promise<void> {
  const prepare = (source: string) => runCli(['data', 'prepare', '--source', source, '--count', String(settings.numSentences), '--out', settings.dataPath], note);
  note(`preparing ${settings.numSentences} MS MARCO passages into ${settings.dataPath} ...\n`);
  if ((await prepare('msmarco')) === 0 && existsSync(settings.dataPath)) return;
  note('MS MARCO is not reachable: preparing synthetic passages instead\n');
  if ((await prepare('synthetic')) !== 0 || !existsSync(settings.dataPath)) {
    throw new CompareInputError(`\`embedbench data prepare --source synthetic --out ${settings.dataPath}\` failed (see above)`);
  }
}

/**
 * Reads the prepared passages (running `data prepare` first for the quickstart preset when the file
 * is missing) and keeps the first --num-sentences of them.
 */
export async function preparePassages(settings: CompareSettings, note: (text: string) => void): Promise<PreparedPassages> {
  if (!existsSync(settings.dataPath)) {
    if (settings.preset !== 'quickstart') {
      throw new CompareInputError(`passages file ${settings.dataPath} not found: run \`embedbench data prepare --out ${settings.dataPath}\` first, or pass --data FILE`);
    }
    await prepareQuickstartPassages(settings, note);
  }
  let all: Passage[];
  try {
    all = parsePassagesJsonl(await readFile(settings.dataPath, 'utf8'), settings.dataPath);
  } catch (error) {
    throw new CompareInputError(error instanceof Error ? error.message : String(error));
  }
  if (all.length <= settings.numSentences) return { path: resolve(settings.dataPath), passages: all };
  const passages = all.slice(0, settings.numSentences);
  const path = resolve('.cache', 'compare', `${basename(settings.dataPath, '.jsonl')}.first${passages.length}.jsonl`);
  await writeFileAtomic(path, passages.map((passage) => JSON.stringify(passage)).join('\n') + '\n');
  return { path, passages };
}
