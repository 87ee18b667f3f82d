#!/usr/bin/env node
// Compiles contracts/*.sol and contracts/test/*.sol with the pinned solc-js and writes one JSON
// artifact per contract (ABI and creation bytecode) into the output folder, contracts/artifacts by
// default. The output is deterministic, so `make verify` can compare it with the committed copy.
// Compiler warnings fail the build, as they do for the C# code.
'use strict';

const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const modules = path.join(root, 'hack', 'tools', 'node_modules');
const solc = require(path.join(modules, 'solc'));

const output = path.resolve(process.argv[2] || path.join(root, 'contracts', 'artifacts'));
const settings = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  metadata: { bytecodeHash: 'none' },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
};

function sources() {
  const result = {};
  for (const folder of ['contracts', path.join('contracts', 'test')]) {
    for (const file of fs.readdirSync(path.join(root, folder)).sort()) {
      if (file.endsWith('.sol')) {
        const name = path.posix.join(...folder.split(path.sep), file);
        result[name] = { content: fs.readFileSync(path.join(root, folder, file), 'utf8') };
      }
    }
  }
  return result;
}

function findImport(importPath) {
  const candidate = path.join(modules, importPath);
  if (!candidate.startsWith(modules + path.sep) || !fs.existsSync(candidate)) {
    return { error: `import not found: ${importPath} (run 'make tools')` };
  }
  return { contents: fs.readFileSync(candidate, 'utf8') };
}

const input = { language: 'Solidity', sources: sources(), settings };
const result = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));
const problems = (result.errors || []).filter((e) => e.severity !== 'info');
for (const problem of problems) {
  process.stderr.write(problem.formattedMessage || problem.message);
}
if (problems.length > 0) {
  process.stderr.write(`solc ${solc.version()}: ${problems.length} error(s) or warning(s)\n`);
  process.exit(1);
}

fs.rmSync(output, { recursive: true, force: true });
let written = 0;
for (const [source, contracts] of Object.entries(result.contracts)) {
  if (!source.startsWith('contracts/')) continue;
  const folder = path.join(output, path.dirname(source).slice('contracts'.length));
  for (const [name, contract] of Object.entries(contracts)) {
    if (contract.evm.bytecode.object.length === 0) continue; // interfaces
    fs.mkdirSync(folder, { recursive: true });
    const artifact = {
      contractName: name,
      sourceName: source,
      compiler: { version: solc.version(), settings: { optimizer: settings.optimizer, evmVersion: settings.evmVersion } },
      abi: contract.abi,
      bytecode: '0x' + contract.evm.bytecode.object,
    };
    fs.writeFileSync(path.join(folder, `${name}.json`), JSON.stringify(artifact, null, 2) + '\n');
    written++;
  }
}
process.stdout.write(`solc ${solc.version()}: ${written} contract artifact(s) in ${path.relative(root, output) || output}\n`);
