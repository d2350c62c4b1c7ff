import { readdir, stat } from 'node:fs/promises';
import { Option } from 'commander';
import { CliError } from './errors.js';

/** The one policy of every command that writes: existing output is replaced only with --force. */
export const forceOption = (replaces: string): Option => new Option('--force', `overwrite ${replaces}`);

export class OverwriteRefusedError extends CliError {
  constructor(path: string, holds: string) {
    super(`${path} already exists (${holds}); pass --force to overwrite it`);
    this.name = 'OverwriteRefusedError';
  }
}

/**
 * What is at `path`, in words ("a 1.2 MB file", "a folder holding config.json, onnx and 3 more"),
 * or undefined when nothing is there or it is an empty folder.
 */
export async function describeExisting(path: string): Promise<string | undefined> {
  const stats = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (stats === undefined) return undefined;
  if (!stats.isDirectory()) return `a ${formatSize(stats.size)} file`;
  const entries = (await readdir(path)).sort();
  if (entries.length === 0) return undefined;
  return `a folder holding ${listSome(entries)}`;
}

/** Throws {@link OverwriteRefusedError} when `force` is false and something is at `path`. */
export async function refuseOverwrite(path: string, force: boolean): Promise<void> {
  if (force) return;
  const holds = await describeExisting(path);
  if (holds !== undefined) throw new OverwriteRefusedError(path, holds);
}

/** "a, b and c", or "a, b, c and 4 more" past `shown` names. */
export function listSome(names: readonly string[], shown = 3): string {
  if (names.length <= shown) return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names.at(-1)!}`;
  return `${names.slice(0, shown).join(', ')} and ${names.length - shown} more`;
}

function formatSize(bytes: number): string {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes}-byte`;
}
