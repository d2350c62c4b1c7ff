import { existsSync } from 'node:fs';
import type { RunningServer } from '@embedbench/http/main';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { hubOptionsFromEnv } from '../hub/config.js';
import { fetchModel, hubModelCacheDir } from '../model/fetch.js';

export function register(program: Command): void {
  program
    .command('serve')
    .summary('serve embeddings over HTTP from one backend (transformers|onnx)')
    .description(
      'Serve embeddings over HTTP from one backend. Every option is also an environment variable\n' +
        '(EMBEDBENCH_ + the option name in upper case, dashes as underscores); run with --help for the list.',
    )
    .usage('--backend transformers|onnx --model DIR|HUB_ID [--port N] [options]')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[options...]', 'serve options, handed to the service (see --help)')
    .action(async (args: string[]) => {
      const serveArgs = await resolveHubModel(args, process.env);
      // Loaded on use, so that the other commands do not load the service and its backends.
      const { runServer } = await import('@embedbench/http/main');
      let server: RunningServer;
      try {
        server = await runServer(serveArgs, process.env);
      } catch (error) {
        throw new CliError((error as Error).message);
      }
      await server.closed;
    });
}

/**
 * A --model (or EMBEDBENCH_MODEL) that is not an existing path is taken for a Hugging Face id: it is
 * fetched (or found already fetched) into models/<name>, and the service is pointed at that folder,
 * reporting the Hub id as its model name unless --model-id says otherwise.
 */
async function resolveHubModel(args: string[], env: NodeJS.ProcessEnv): Promise<string[]> {
  const flagIndex = args.findIndex((arg) => arg === '--model' || arg.startsWith('--model='));
  const flag = flagIndex >= 0 ? args[flagIndex]! : undefined;
  const inline = flag?.includes('=') === true;
  const model = flag === undefined ? env['EMBEDBENCH_MODEL'] : inline ? flag.slice(flag.indexOf('=') + 1) : args[flagIndex + 1];
  if (model === undefined || model === '' || model.startsWith('-') || existsSync(model)) return args;

  const outDir = hubModelCacheDir(model);
  process.stderr.write(`serve: --model ${model} is not a directory; fetching it from the Hugging Face Hub into ${outDir}\n`);
  try {
    await fetchModel({ modelId: model, outDir, variants: ['fp32', 'fp16'], revision: 'main', hub: hubOptionsFromEnv() });
  } catch (error) {
    throw new CliError(`--model ${model}: not a directory, and fetching it from the Hub failed: ${(error as Error).message}`);
  }
  const withoutModel = flag === undefined ? args : args.filter((_, index) => index !== flagIndex && (inline || index !== flagIndex + 1));
  const hasModelId = args.some((arg) => arg === '--model-id' || arg.startsWith('--model-id=')) || env['EMBEDBENCH_MODEL_ID'] !== undefined;
  return [...withoutModel, '--model', outDir, ...(hasModelId ? [] : ['--model-id', model])];
}
