import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from '../fs/atomic.js';
import { describeRepo, HubClient, type HubFile, type HubRepo } from '../hub/client.js';
import type { HubClientOptions } from '../hub/config.js';
import { HubError } from '../hub/errors.js';
import { listSome, OverwriteRefusedError } from '../overwrite.js';
import { ensureHiddenStateOutput, externalDataLocations, type HiddenStateEdit } from './graph-edit.js';
import { onnx } from './onnx/proto.js';
import { BLOCK_INT8, DYNAMIC_INT8, quantizeModelFile, type MatMulRewrite } from './onnx/quantize-graph.js';

/** ONNX variants by the file names that transformers.js exports use (and their pattern for q8f16). */
export const VARIANT_FILES = {
  fp32: 'onnx/model.onnx',
  fp16: 'onnx/model_fp16.onnx',
  q8: 'onnx/model_quantized.onnx',
  q8f16: 'onnx/model_q8f16.onnx',
} as const;
export type Variant = keyof typeof VARIANT_FILES;
export const VARIANTS = Object.keys(VARIANT_FILES) as Variant[];
/** What `model fetch` gets unless told otherwise: the files the backends choose among by themselves. */
export const DEFAULT_VARIANTS: readonly Variant[] = ['fp32', 'fp16', 'q8'];

/** Variants made here, by quantizing another, when the repository lacks them. */
const QUANTIZED_HERE: Partial<Record<Variant, { from: Variant; rewrite: MatMulRewrite }>> = {
  q8: { from: 'fp32', rewrite: DYNAMIC_INT8 },
  q8f16: { from: 'fp16', rewrite: BLOCK_INT8 },
};

const REQUIRED_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];
const OPTIONAL_FILES = ['special_tokens_map.json'];
/** Records what each file was fetched from, so a rerun skips finished (and edited) files. */
export const FETCH_MANIFEST = '.embedbench-fetch.json';

/** Where a Hub model fetched on demand (serve, compare) lives: models/<repo name>. */
export function hubModelCacheDir(modelId: string): string {
  return join('models', modelId.split('/').at(-1)!);
}

const manifestSchema = z.object({
  repo: z.string(),
  revision: z.string(),
  files: z.record(
    z.string(),
    z.object({
      size: z.number(),
      sha256: z.string().optional(),
      localSize: z.number(),
      editedFrom: z.string().optional(),
      /** For a file made here: the file it was quantized from, as `sha256-or-size:localSize`. */
      quantizedFrom: z.string().optional(),
    }),
  ),
});
type Manifest = z.infer<typeof manifestSchema>;

const configSchema = z.object({ hidden_size: z.number().int().positive().optional() });

export interface FetchModelOptions {
  modelId: string;
  outDir: string;
  variants: Variant[];
  revision: string;
  hub: HubClientOptions;
  /** Replace files in `outDir` that this repository and revision did not write; refused without it. */
  force?: boolean;
  log?: (line: string) => void;
}

export interface FetchedFile {
  path: string;
  bytes: number;
  action: 'downloaded' | 'already present' | 'quantized here';
  edit?: HiddenStateEdit;
}

/**
 * Downloads config, tokenizer files and the requested ONNX variants (with their external-data
 * companions) into `outDir`, then makes sure every ONNX graph outputs `last_hidden_state`. A q8 or
 * q8f16 variant the repository lacks is made here, from the fp32 file (dynamic int8 MatMuls) or the
 * fp16 file (8-bit MatMulNBits).
 */
export async function fetchModel(options: FetchModelOptions): Promise<FetchedFile[]> {
  const log = options.log ?? (() => undefined);
  const repo: HubRepo = { type: 'model', id: options.modelId, revision: options.revision };
  const client = new HubClient(options.hub);
  try {
    const listing = await client.listFiles(repo);
    const quantizeHere = options.variants.filter(
      (variant) => QUANTIZED_HERE[variant] !== undefined && !listing.some((file) => file.path === VARIANT_FILES[variant]),
    );
    const downloads = [
      ...new Set([...options.variants.filter((variant) => !quantizeHere.includes(variant)), ...quantizeHere.map((variant) => QUANTIZED_HERE[variant]!.from)]),
    ];
    const plan = planDownloads(listing, downloads, repo);
    const manifest = await readManifest(options.outDir, repo);
    if (options.force !== true) await refuseForeignFiles(options.outDir, plan, manifest, repo);
    const fetched: FetchedFile[] = [];
    for (const file of plan) {
      const destination = join(options.outDir, ...file.path.split('/'));
      if (await isUpToDate(destination, file, manifest)) {
        fetched.push({ path: file.path, bytes: manifest.files[file.path]?.localSize ?? file.size, action: 'already present' });
        continue;
      }
      log(`downloading ${file.path} (${megabytes(file.size)})`);
      const started = performance.now();
      await client.downloadFile(repo, file, destination, progressLogger(file.path, log));
      const seconds = (performance.now() - started) / 1000;
      log(`  ${file.path}: ${megabytes(file.size)} in ${seconds.toFixed(1)} s`);
      const record: FetchedFile = { path: file.path, bytes: file.size, action: 'downloaded' };
      if (isVariantFile(file.path)) {
        record.edit = await exposeHiddenState(options.outDir, file.path, log);
        record.bytes = (await stat(destination)).size;
      }
      manifest.files[file.path] = {
        size: file.size,
        sha256: file.sha256,
        localSize: record.bytes,
        editedFrom: record.edit?.changed ? 'logits' : undefined,
      };
      await writeJsonAtomic(join(options.outDir, FETCH_MANIFEST), manifest);
      fetched.push(record);
    }
    for (const variant of downloads) await checkExternalData(options.outDir, VARIANT_FILES[variant]);
    for (const variant of quantizeHere) fetched.push(await quantizeVariant(options.outDir, variant, manifest, log));
    return fetched;
  } finally {
    await client.close();
  }
}

function planDownloads(listing: HubFile[], variants: Variant[], repo: HubRepo): HubFile[] {
  const byPath = new Map(listing.map((file) => [file.path, file]));
  const missing = REQUIRED_FILES.filter((path) => !byPath.has(path));
  if (missing.length > 0) {
    throw new HubError('not-found', `${describeRepo(repo)} lacks ${missing.join(', ')}: not a transformers model repository`);
  }
  const plan = [...REQUIRED_FILES, ...OPTIONAL_FILES.filter((path) => byPath.has(path))].map((path) => byPath.get(path)!);
  for (const variant of variants) {
    const path = VARIANT_FILES[variant];
    const file = byPath.get(path);
    if (file === undefined) {
      const available = listing.filter((entry) => entry.path.endsWith('.onnx')).map((entry) => entry.path);
      throw new HubError(
        'not-found',
        `${describeRepo(repo)} has no ${path} for variant ${variant}; ONNX files there: ${available.join(', ') || 'none'}`,
      );
    }
    plan.push(file);
    // External weights: model.onnx_data, model.onnx_data_1, ... or model.onnx.data.
    plan.push(...listing.filter((entry) => entry.path.startsWith(`${path}_data`) || entry.path === `${path}.data`));
  }
  return plan;
}

async function exposeHiddenState(outDir: string, path: string, log: (line: string) => void): Promise<HiddenStateEdit> {
  const config = configSchema.safeParse(JSON.parse(await readFile(join(outDir, 'config.json'), 'utf8')));
  const hiddenSize = config.success ? config.data.hidden_size : undefined;
  const edit = await ensureHiddenStateOutput(join(outDir, ...path.split('/')), { hiddenSize });
  if (edit.changed) {
    log(
      `  ${path}: no last_hidden_state output; exposed ${edit.hiddenStateTensor} as last_hidden_state, ` +
        `removed ${edit.removedOutputs.join(', ')} and ${edit.removedNodes} MLM-head nodes`,
    );
  }
  return edit;
}

/** Makes `variant`'s file from the fetched (and edited) file it is quantized from, unless it is already made from it. */
async function quantizeVariant(outDir: string, variant: Variant, manifest: Manifest, log: (line: string) => void): Promise<FetchedFile> {
  const { from, rewrite } = QUANTIZED_HERE[variant]!;
  const sourcePath = VARIANT_FILES[from];
  const source = manifest.files[sourcePath];
  if (source === undefined) throw new Error(`${sourcePath} was not fetched, so it cannot be quantized`);
  const stamp = `${source.sha256 ?? source.size}:${source.localSize}`;
  const path = VARIANT_FILES[variant];
  const destination = join(outDir, ...path.split('/'));
  const recorded = manifest.files[path];
  if (recorded?.quantizedFrom === stamp && (await fileSize(destination)) === recorded.localSize) {
    return { path, bytes: recorded.localSize, action: 'already present' };
  }
  log(`quantizing ${sourcePath} to ${path} (${rewrite.description}; the repository has no ${path})`);
  const started = performance.now();
  const result = await quantizeModelFile(join(outDir, ...sourcePath.split('/')), destination, rewrite);
  log(
    `  ${path}: ${result.quantizedMatMuls} MatMuls quantized, ${result.floatMatMuls} left in ${from}, ` +
      `${megabytes(result.bytes)} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  manifest.files[path] = { size: source.size, localSize: result.bytes, quantizedFrom: stamp };
  await writeJsonAtomic(join(outDir, FETCH_MANIFEST), manifest);
  return { path, bytes: result.bytes, action: 'quantized here' };
}

async function checkExternalData(outDir: string, path: string): Promise<void> {
  const model = onnx.ModelProto.decode(await readFile(join(outDir, ...path.split('/'))));
  const folder = join(outDir, ...path.split('/').slice(0, -1));
  for (const location of externalDataLocations(model)) {
    if ((await fileSize(join(folder, location))) === undefined) {
      throw new HubError('not-found', `${path} keeps weights in ${location}, which the repository does not list`);
    }
  }
}

/**
 * Files at the planned destinations that an earlier fetch of the same repository and revision did
 * not record are someone else's (another model, `model synth`, the user), so they are not replaced
 * without --force. A file of exactly the listed size is a download whose record was interrupted.
 */
async function refuseForeignFiles(outDir: string, plan: HubFile[], manifest: Manifest, repo: HubRepo): Promise<void> {
  const foreign: string[] = [];
  for (const file of plan) {
    if (manifest.files[file.path] !== undefined) continue;
    const size = await fileSize(join(outDir, ...file.path.split('/')));
    if (size !== undefined && size !== file.size) foreign.push(file.path);
  }
  if (foreign.length > 0) {
    throw new OverwriteRefusedError(outDir, `${listSome(foreign)}, not downloaded from ${describeRepo(repo)} by model fetch`);
  }
}

async function isUpToDate(destination: string, file: HubFile, manifest: Manifest): Promise<boolean> {
  const recorded = manifest.files[file.path];
  if (recorded === undefined || recorded.size !== file.size || recorded.sha256 !== file.sha256) return false;
  return (await fileSize(destination)) === recorded.localSize;
}

async function readManifest(outDir: string, repo: HubRepo): Promise<Manifest> {
  const fresh: Manifest = { repo: repo.id, revision: repo.revision, files: {} };
  let text: string;
  try {
    text = await readFile(join(outDir, FETCH_MANIFEST), 'utf8');
  } catch {
    return fresh;
  }
  let parsed: ReturnType<typeof manifestSchema.safeParse>;
  try {
    parsed = manifestSchema.safeParse(JSON.parse(text));
  } catch {
    return fresh;
  }
  return parsed.success && parsed.data.repo === repo.id && parsed.data.revision === repo.revision ? parsed.data : fresh;
}

function isVariantFile(path: string): boolean {
  return (Object.values(VARIANT_FILES) as string[]).includes(path);
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Logs at most one progress line per 10 s, so big files show they are moving. */
function progressLogger(path: string, log: (line: string) => void): (received: number, total: number) => void {
  let lastLog = performance.now();
  return (received, total) => {
    const now = performance.now();
    if (now - lastLog < 10_000) return;
    lastLog = now;
    log(`  ${path}: ${megabytes(received)} of ${megabytes(total)}`);
  };
}
