import { createHash, randomBytes } from 'node:crypto';
import { readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * The folder beside a model's ONNX files where the onnx backend keeps what it derives from them
 * (optimized graphs, the int8 parity measurement), so later starts skip that work.
 */
export function modelCacheDir(modelFile: string): string {
  return join(dirname(modelFile), 'embedbench-cache');
}

/**
 * Size and modification time of a model file and of its external-data companions
 * (model.onnx_data, model.onnx_data_1, model.onnx.data): it changes whenever the model does.
 */
export async function modelFileStamp(modelFile: string): Promise<string> {
  const name = basename(modelFile);
  const siblings = await readdir(dirname(modelFile));
  const files = [name, ...siblings.filter((entry) => entry.startsWith(`${name}_data`) || entry === `${name}.data`).sort()];
  const parts = await Promise.all(
    files.map(async (file) => {
      const info = await stat(join(dirname(modelFile), file));
      return `${file}:${info.size}:${info.mtimeMs}`;
    }),
  );
  return parts.join('|');
}

/** First 16 hex digits of the SHA-256 of the parts, for file names. */
export function shortHash(...parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16);
}

/** A unique temporary name beside `path`, for files written then renamed into place. */
export function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Writes through a temporary file and a rename, so readers never see a torn file. */
export async function writeFileReplacing(path: string, content: string): Promise<void> {
  const temporary = temporaryPathFor(path);
  try {
    await writeFile(temporary, content);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
