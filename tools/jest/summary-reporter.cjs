// Writes jest's aggregated results (the same shape `jest --json` prints) to a file, so that
// `npm test` can add every project's counts into one line. CommonJS: jest loads reporters with require.
'use strict';
const { mkdirSync, writeFileSync } = require('node:fs');
const { dirname } = require('node:path');
const { formatTestResults } = require('@jest/test-result');

class SummaryReporter {
  constructor(_globalConfig, options) {
    this.outputFile = options.outputFile;
    this.projectName = options.projectName;
  }

  onRunComplete(_contexts, results) {
    mkdirSync(dirname(this.outputFile), { recursive: true });
    writeFileSync(
      this.outputFile,
      JSON.stringify({ projectName: this.projectName, ...formatTestResults(results) }),
    );
  }
}

module.exports = SummaryReporter;
