/**
 * The extension-host test suite. `run()` is what both runners call inside a real VS Code:
 * @vscode/test-electron (desktop VS Code, where it can be downloaded) and test/e2e (the VS Code
 * server from the code-server npm package, driven by Chromium).
 */
import * as path from 'node:path';
import Mocha from 'mocha';
import * as fs from 'node:fs';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, color: false });
  for (const f of fs.readdirSync(__dirname)) if (f.endsWith('.test.js')) mocha.addFile(path.join(__dirname, f));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} extension test(s) failed`)) : resolve()));
  });
}
