/**
 * The extension manifest (package.json `contributes`) against the code: every contributed command
 * is registered, every menu and welcome link names a real command, every `when` context key is
 * set somewhere, every `%key%` resolves in package.nls.json, every file it names exists.
 * (The extension-host suite also checks the registrations in a running VS Code.)
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const nls: Record<string, string> = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.nls.json'), 'utf8'));
const contributes = pkg.contributes;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}
const extensionSource = sourceFiles(path.join(ROOT, 'src', 'extension')).map((f) => fs.readFileSync(f, 'utf8')).join('\n');
const contributed = new Set<string>(contributes.commands.map((c: { command: string }) => c.command));
/** VS Code's own commands that welcome links may use. */
const BUILT_IN = new Set(['vscode.openFolder', 'workbench.trust.manage', 'workbench.action.openSettings']);

function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) strings(x, out);
  return out;
}

describe('extension manifest', () => {
  it('registers every contributed command in the extension code, and contributes every registered one', () => {
    const registered = new Set([...extensionSource.matchAll(/(?:register|registerCommand)\(\s*'(wisejson\.[A-Za-z]+)'/g)].map((m) => m[1]));
    for (const c of contributed) assert.ok(registered.has(c), `${c} is contributed but never registered`);
    for (const c of registered) assert.ok(contributed.has(c), `${c} is registered but not contributed`);
  });

  it('gives every command a category and a title that resolves', () => {
    for (const c of contributes.commands) {
      assert.equal(c.category, 'WiseJSON', `${c.command}: category`);
      assert.match(c.title, /^%[\w.]+%$/, `${c.command}: title is a %key%`);
    }
  });

  it('resolves every %key% and uses every key of package.nls.json', () => {
    const used = new Set<string>();
    for (const s of strings(pkg)) for (const m of s.matchAll(/^%([\w.]+)%$/g)) used.add(m[1]);
    for (const k of used) assert.ok(k in nls, `%${k}% has no entry in package.nls.json`);
    for (const k of Object.keys(nls)) assert.ok(used.has(k), `package.nls.json has an unused key ${k}`);
  });

  it('names only real commands and views in menus and welcome links', () => {
    const views = new Set<string>(Object.values(contributes.views).flat().map((v) => (v as { id: string }).id));
    for (const [menu, items] of Object.entries(contributes.menus as Record<string, { command: string; when?: string }[]>)) {
      for (const item of items) {
        assert.ok(contributed.has(item.command), `${menu}: ${item.command} is not a contributed command`);
        for (const m of (item.when ?? '').matchAll(/view == ([\w.]+)/g)) assert.ok(views.has(m[1]), `${menu}: unknown view ${m[1]}`);
      }
    }
    for (const w of contributes.viewsWelcome) {
      assert.ok(views.has(w.view), `viewsWelcome names an unknown view ${w.view}`);
      const text = nls[w.contents.slice(1, -1)] ?? w.contents;
      for (const m of text.matchAll(/\(command:([\w.]+)\)/g)) assert.ok(contributed.has(m[1]) || BUILT_IN.has(m[1]), `viewsWelcome links to an unknown command ${m[1]}`);
    }
    for (const w of contributes.walkthroughs) {
      for (const step of w.steps) {
        const text = nls[step.description.slice(1, -1)];
        for (const m of text.matchAll(/\(command:([\w.]+)\)/g)) assert.ok(contributed.has(m[1]), `walkthrough step ${step.id} links to an unknown command ${m[1]}`);
        for (const e of step.completionEvents) if (e.startsWith('onCommand:')) assert.ok(contributed.has(e.slice(10)), `walkthrough step ${step.id} completes on an unknown command ${e}`);
      }
    }
  });

  it('sets every wisejson.* context key that a when clause reads', () => {
    const views = new Set<string>(Object.values(contributes.views).flat().map((v) => (v as { id: string }).id));
    const whens = [...Object.values(contributes.menus as Record<string, { when?: string }[]>).flat(), ...contributes.viewsWelcome].map((i) => i.when ?? '');
    const keys = new Set(whens.flatMap((w) => [...w.matchAll(/\b(wisejson\.[A-Za-z]+)\b/g)].map((m) => m[1])).filter((k) => !views.has(k)));
    assert.ok(keys.size > 0);
    for (const k of keys) assert.ok(extensionSource.includes(`'setContext', '${k}'`), `the context key ${k} is never set`);
  });

  it('declares a scope for every setting, and restricts only settings that exist', () => {
    const props = contributes.configuration.properties as Record<string, { scope?: string }>;
    for (const [k, v] of Object.entries(props)) assert.ok(v.scope, `${k} has no scope`);
    assert.equal(props['wisejson.databases'].scope, 'resource');
    for (const k of pkg.capabilities.untrustedWorkspaces.restrictedConfigurations) assert.ok(k in props, `restricted ${k} is not a setting`);
    assert.ok(!Object.keys(props).some((k) => /key|secret|token/i.test(k)), 'no setting holds an API key');
  });

  it('activates on demand only, runs on the workspace side, and names files that exist', () => {
    assert.ok(!pkg.activationEvents.includes('*'), 'no * activation');
    assert.deepEqual(pkg.extensionKind, ['workspace']);
    for (const s of strings(contributes)) if (/^(\.\/)?(media|languages)\//.test(s)) assert.ok(fs.existsSync(path.join(ROOT, s)), `${s} does not exist`);
    const packaged = fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8');
    for (const s of strings(contributes)) if (/^\.\/languages\//.test(s)) assert.match(packaged, /^!languages\/\*\*$/m, `${s} is left out of the package`);
    assert.equal(pkg.main, './dist/extension.js');
  });
});
