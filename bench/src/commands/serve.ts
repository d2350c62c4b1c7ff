import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError } from '../errors.js';

/** The part of @embedbench/http's main entry this command uses (bench does not reference services in tsc). */
interface RunningServer {
  readonly closed: Promise<void>;
}
type RunServer = (argv: string[], env: NodeJS.ProcessEnv) => Promise<RunningServer>;

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
      checkModelArgument(args, process.env);
      const runServer = await loadRunServer();
      let server: RunningServer;
      try {
        server = await runServer(args, process.env);
      } catch (error) {
        throw new CliError((error as Error).message);
      }
      await server.closed;
    });
}

async function loadRunServer(): Promise<RunServer> {
  const specifier = import.meta.resolve('@embedbench/http/main');
  const module = (await import(specifier)) as { runServer?: RunServer };
  if (typeof module.runServer !== 'function') throw new CliError(`${specifier} does not export runServer`);
  return module.runServer;
}

/**
 * A --model (or EMBEDBENCH_MODEL) that is not a directory is taken for a Hub id. Fetching it into
 * a cache is not wired in yet, so point at the command that does it.
 */
function checkModelArgument(args: string[], env: NodeJS.ProcessEnv): void {
  const flagIndex = args.findIndex((arg) => arg === '--model' || arg.startsWith('--model='));
  const flag = flagIndex >= 0 ? args[flagIndex]! : undefined;
  const model = flag === undefined ? env['EMBEDBENCH_MODEL'] : flag.includes('=') ? flag.slice(flag.indexOf('=') + 1) : args[flagIndex + 1];
  if (model === undefined || model === '' || model.startsWith('-') || existsSync(model)) return;
  throw new CliError(
    `--model ${model} is not a directory; to serve a Hugging Face model, run ` +
      `"embedbench model fetch ${model} --out models/<name>" and pass --model models/<name>`,
  );
}
