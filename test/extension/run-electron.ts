/**
 * The standard @vscode/test-electron runner: downloads a desktop VS Code (needs internet) and runs
 * the extension-host suite (./index.ts `run()`) in it.
 *
 *   npm run build && npm run compile-tests && node out/test/extension/run-electron.js
 *
 * Where desktop VS Code cannot be downloaded (these machines and CI reach only the npm registry
 * and Debian's packages), the same suite runs in a real VS Code server driven by Chromium:
 * test/e2e/run.mjs (see test/e2e/README.md).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';

async function main(): Promise<void> {
  // Compiled to out/test/extension/run-electron.js: the extension's root is three levels up.
  const extensionDevelopmentPath = path.resolve(__dirname, '../../..');
  const extensionTestsPath = path.resolve(__dirname, './index');
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'wisejson-electron-'));
  try {
    await runTests({
      extensionDevelopmentPath,
      extensionTestsPath,
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust'],
    });
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error('Extension tests failed:', err);
  process.exit(1);
});
