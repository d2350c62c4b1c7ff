import { InvalidArgumentError, Option, type Command } from 'commander';
import { CliError } from '../errors.js';
import { ARCHITECTURES, SIZES, type Architecture, type ModelSize } from '../model/config.js';
import { SynthError, synthesizeModel } from '../model/synth.js';
import { forceOption } from '../overwrite.js';
import { registerFetch } from './model-fetch.js';

/** The `model` command group: `model synth` here, `model fetch` in model-fetch.ts. */
export function register(program: Command): void {
  const model = program.command('model').description('Create or download embedding model folders (config, tokenizer, ONNX)');
  registerSynth(model);
  registerFetch(model);
}

function registerSynth(model: Command): void {
  model
    .command('synth')
    .description('Write a synthetic bert or modernbert model (random weights, real architecture) that transformers.js and onnxruntime-node load offline')
    .addOption(new Option('--arch <arch>', 'architecture').choices(ARCHITECTURES).makeOptionMandatory())
    .addOption(new Option('--size <size>', 'tiny (tests), small (quick runs) or base (real dimensions)').choices(SIZES).makeOptionMandatory())
    .requiredOption('--out <dir>', 'model folder to create')
    .option('--seed <n>', 'weights and tokenizer seed; the same seed gives byte-identical files', parseSeed, 42)
    .addOption(forceOption('an existing --out folder (all of its content)'))
    .action(async (options: { arch: Architecture; size: ModelSize; out: string; seed: number; force?: boolean }) => {
      const started = performance.now();
      try {
        const written = await synthesizeModel({ arch: options.arch, size: options.size, seed: options.seed, outDir: options.out, force: options.force });
        const width = Math.max(...written.map((file) => file.path.length));
        for (const file of written) process.stdout.write(`${file.path.padEnd(width)}  ${formatBytes(file.bytes)}\n`);
        process.stdout.write(`wrote ${options.arch}-${options.size} (seed ${options.seed}) to ${options.out} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
      } catch (error) {
        if (error instanceof SynthError) throw new CliError(error.message);
        throw error;
      }
    });
}

function parseSeed(value: string): number {
  const seed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(seed)) throw new InvalidArgumentError('must be a non-negative integer');
  return seed;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}
