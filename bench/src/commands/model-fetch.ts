import { InvalidArgumentError, Option, type Command } from 'commander';
import { hubOptionsFromEnv, HUB_ENVIRONMENT_HELP } from '../hub/config.js';
import { DEFAULT_VARIANTS, fetchModel, VARIANTS, type Variant } from '../model/fetch.js';
import { forceOption } from '../overwrite.js';

/** Adds `model fetch` to the `model` command group. */
export function registerFetch(modelCommand: Command): void {
  modelCommand
    .command('fetch')
    .description(
      'Download a model from the Hugging Face Hub: config, tokenizer files and ONNX variants. ' +
        'Masked-LM exports that only output logits are edited to output last_hidden_state.',
    )
    .argument('<model-id>', 'Hub repository, e.g. answerdotai/ModernBERT-base')
    .requiredOption('--out <dir>', 'model folder to write (partial downloads there are resumed)')
    .addOption(
      new Option('--variants <list>', `comma-separated ONNX variants: ${VARIANTS.join(', ')}`)
        .argParser(parseVariants)
        .default([...DEFAULT_VARIANTS], DEFAULT_VARIANTS.join(',')),
    )
    .option('--revision <revision>', 'branch, tag or commit sha', 'main')
    .option('--connect-timeout <seconds>', 'overrides EMBEDBENCH_HUB_CONNECT_TIMEOUT', parseSeconds)
    .addOption(forceOption("files in --out that this model's download did not write"))
    .addHelpText('after', HUB_ENVIRONMENT_HELP)
    .action(async (modelId: string, options: { out: string; variants: Variant[]; revision: string; connectTimeout?: number; force?: boolean }) => {
      const hub = hubOptionsFromEnv({ connectTimeoutMs: options.connectTimeout });
      const started = performance.now();
      const files = await fetchModel({
        modelId,
        outDir: options.out,
        variants: options.variants,
        revision: options.revision,
        hub,
        force: options.force,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      const count = (action: (typeof files)[number]['action']) => files.filter((file) => file.action === action).length;
      const quantized = count('quantized here');
      process.stdout.write(
        `fetched ${modelId}@${options.revision} into ${options.out}: ${count('downloaded')} downloaded, ` +
          `${count('already present')} already present${quantized > 0 ? `, ${quantized} quantized here` : ''}, ` +
          `in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
      );
    });
}

function parseVariants(value: string): Variant[] {
  const variants = value.split(',').map((variant) => variant.trim()).filter((variant) => variant !== '');
  const unknown = variants.filter((variant) => !(VARIANTS as string[]).includes(variant));
  if (variants.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(`expected a comma-separated list of ${VARIANTS.join(', ')}`);
  }
  return [...new Set(variants)] as Variant[];
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!(seconds > 0)) throw new InvalidArgumentError('must be a positive number of seconds');
  return Math.round(seconds * 1000);
}
