#!/usr/bin/env node
// Prints the failed tests of a TRX file (what `dotnet test --logger trx` writes): each one's name, its
// message and stack, and the output it wrote (the tests attach the operator's and the agents' logs).
// Used by hack/test-loop.sh. Exits 1 when the file names a failed test, 0 when it names none.
'use strict';
const fs = require('fs');

const file = process.argv[2];
if (!file) {
  console.error('usage: trx-failures.js FILE.trx');
  process.exit(2);
}

const xml = fs.readFileSync(file, 'utf8');
const decode = (text) => text
  .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'")
  .replace(/&#x([0-9a-fA-F]+);/g, (_, hex) => String.fromCodePoint(parseInt(hex, 16)))
  .replace(/&#([0-9]+);/g, (_, dec) => String.fromCodePoint(parseInt(dec, 10)))
  .replace(/&amp;/g, '&');
const element = (body, name) => {
  const match = body.match(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`));
  return match ? decode(match[1]) : '';
};

let failed = 0;
// A result is either <UnitTestResult .../> (no output) or <UnitTestResult ...>...</UnitTestResult>.
for (const match of xml.matchAll(/<UnitTestResult\b([^>]*?)(?:\/>|>([\s\S]*?)<\/UnitTestResult>)/g)) {
  const attributes = match[1];
  const outcome = (attributes.match(/\boutcome="([^"]*)"/) || [])[1];
  if (outcome !== 'Failed' && outcome !== 'Error' && outcome !== 'Timeout' && outcome !== 'Aborted') {
    continue;
  }

  failed++;
  const body = match[2] || '';
  const name = decode((attributes.match(/\btestName="([^"]*)"/) || [])[1] || '(unnamed)');
  const duration = (attributes.match(/\bduration="([^"]*)"/) || [])[1] || '?';
  console.log(`=== ${outcome}: ${name} (${duration})`);
  for (const [title, text] of [['message', element(body, 'Message')], ['stack', element(body, 'StackTrace')], ['output', element(body, 'StdOut')], ['error output', element(body, 'StdErr')]]) {
    if (text.trim().length > 0) {
      console.log(`--- ${title}:\n${text.trimEnd()}`);
    }
  }
}

if (failed === 0) {
  console.log(`${file}: no failed test`);
}
process.exit(failed > 0 ? 1 : 0);
