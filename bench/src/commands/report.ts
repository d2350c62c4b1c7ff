import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { generateReport } from '../report/generate.js';

export function register(program: Command): void {
  program
    .command('report')
    .description('Regenerate summary_report.txt, plots/*.png and report.html from the JSON files of a compare results directory (listing the files it read and the ones it ignored)')
    .option('--results-dir <dir>', 'results directory written by `embedbench compare`', 'results')
    .action(async (options: { resultsDir: string }) => {
      let report;
      try {
        report = await generateReport(options.resultsDir);
      } catch (error) {
        throw new CliError(error instanceof Error ? error.message : String(error));
      }
      process.stdout.write(`${report.summary}\nwrote ${report.written.map((file) => `${options.resultsDir}/${file}`).join(', ')}\n`);
    });
}
