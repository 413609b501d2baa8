/**
 * The extension-host suite for a workspace that is NOT trusted (run by test/e2e/run.mjs in a VS
 * Code server started with workspace trust enabled). The workspace is seeded by run.mjs: see
 * `seedUntrustedWorkspace` there; run.mjs also checks afterwards that not a byte changed in any
 * database folder the settings name.
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
