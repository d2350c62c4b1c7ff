#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import * as compare from './commands/compare.js';
import * as data from './commands/data.js';
import * as doctor from './commands/doctor.js';
import * as load from './commands/load.js';
import * as model from './commands/model.js';
import * as report from './commands/report.js';
import * as serve from './commands/serve.js';
import { CliError } from './errors.js';
import { EMBEDBENCH_VERSION } from './version.js';

const program = new Command('embedbench')
  .description('Serve, load-test and compare text-embedding backends')
  .version(EMBEDBENCH_VERSION, '-V, --version', 'print the embedbench version')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

const commandModules: Array<{ register(program: Command): void }> = [
  doctor,
  compare,
  report,
  load,
  serve,
  data,
  model,
];
for (const module of commandModules) module.register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`embedbench: ${message}\n`);
  process.exit(error instanceof CliError ? error.exitCode : 1);
}
