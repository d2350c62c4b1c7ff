import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic.js';
import { PLOT_FILES, renderPlots, type PlotName } from './charts.js';
import { loadReportData } from './dataset.js';
import { reportHtml } from './html.js';
import { summaryText } from './summary.js';

export const SUMMARY_FILE = 'summary_report.txt';
export const HTML_FILE = 'report.html';

export interface GeneratedReport {
  readonly summary: string;
  /** Paths relative to the results directory. */
  readonly written: readonly string[];
  /** The JSON files the report was made from, and the ones in the directory it left out, with why. */
  readonly read: readonly string[];
  readonly ignored: ReadonlyArray<{ readonly file: string; readonly reason: string }>;
}

/** Writes summary_report.txt, the three plots and report.html from the JSON files of resultsDir alone. */
export async function generateReport(resultsDir: string): Promise<GeneratedReport> {
  const data = await loadReportData(resultsDir);
  const plots = await renderPlots(data);
  const summary = summaryText(data);
  for (const name of Object.keys(PLOT_FILES) as PlotName[]) await writeFileAtomic(join(resultsDir, PLOT_FILES[name]), plots[name]);
  await writeFileAtomic(join(resultsDir, SUMMARY_FILE), summary);
  await writeFileAtomic(join(resultsDir, HTML_FILE), reportHtml(data, plots));
  return { summary, written: [SUMMARY_FILE, ...Object.values(PLOT_FILES), HTML_FILE], read: data.filesRead, ignored: data.filesIgnored };
}
