import type { Command } from 'commander';
import { DEFAULT_PASSAGES_PATH } from '../data/format.js';
import { MAX_PASSAGES, parsePrepareOptions, preparePassages, type PrepareReport } from '../data/prepare.js';
import { HUB_ENVIRONMENT_HELP } from '../hub/config.js';
import { forceOption } from '../overwrite.js';

const FORMAT_HELP = `
Output format (read by the k6 script and the built-in driver):
  JSON Lines, UTF-8, one passage per line: {"pid": string, "text": string}
  e.g. {"pid":"7067032","text":"The average cost of a new roof is ..."}

Sources:
  synthetic   English-like passages generated offline; word counts follow MS MARCO (mean 56, tail past 200)
  PATH.tsv    a local MS MARCO collection.tsv (pid<TAB>passage per line), streamed once: passages are
              deduplicated by text and sampled with the seed; malformed lines are counted and skipped
  msmarco     the MS MARCO passage corpus from the Hugging Face Hub (cached in --cache-dir), then as PATH.tsv
${HUB_ENVIRONMENT_HELP}`;

/** The `data` command group: `data prepare`. */
export function register(program: Command): void {
  const data = program.command('data').description('Prepare the passages that load tests send');
  data
    .command('prepare')
    .description('Write passages as JSON Lines from synthetic text, a local collection.tsv or MS MARCO on the Hub')
    .requiredOption('--source <source>', 'msmarco, synthetic or the path of a collection .tsv')
    .option('--count <n>', `number of passages (at most ${MAX_PASSAGES})`, '100000')
    .option('--out <file>', 'output JSON Lines file, written atomically', DEFAULT_PASSAGES_PATH)
    .option('--seed <n>', 'generation / sampling seed; the same seed gives the same file', '42')
    .option('--cache-dir <dir>', 'where --source msmarco keeps the downloaded corpus', '.cache')
    .addOption(forceOption('an existing --out file'))
    .addHelpText('after', FORMAT_HELP)
    .action(async (raw: Record<string, unknown>) => {
      const report = await preparePassages(parsePrepareOptions(raw));
      process.stdout.write(describe(report));
    });
}

function describe(report: PrepareReport): string {
  const lines: string[] = [];
  if (report.collection !== undefined) {
    const { path, lines: read, malformedLines, duplicatesDropped } = report.collection;
    lines.push(`read ${read} lines of ${path}: ${malformedLines} malformed skipped, ${duplicatesDropped} duplicate passages dropped`);
  }
  lines.push(`wrote ${report.written} passages (${report.source}, seed ${report.seed}) to ${report.out} in ${report.seconds.toFixed(1)} s`);
  return `${lines.join('\n')}\n`;
}
