#!/usr/bin/env node
// A committed, executable entry: npm links package bins at install time, before `prepare` has
// compiled dist/, and skips bins whose target does not exist yet.
import '../dist/src/cli.js';
