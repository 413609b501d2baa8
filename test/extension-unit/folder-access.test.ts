import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { folderAccess, isInside } from '../../src/extension/databases/folder-access';

describe('extension: database folders and workspace trust', () => {
  let root = '';
  let ws = '';
  let outside = '';
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'wisejson-trust-'));
    ws = path.join(root, 'workspace');
    outside = path.join(root, 'elsewhere');
    fs.mkdirSync(path.join(ws, '.wisejson'), { recursive: true });
    fs.mkdirSync(outside);
    fs.symlinkSync(outside, path.join(ws, 'link-out'));
    fs.symlinkSync(path.join(ws, '.wisejson'), path.join(ws, 'link-in'));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('a trusted workspace opens any folder for writing', () => {
    for (const dir of [path.join(ws, '.wisejson'), outside, path.join(ws, 'link-out'), '/']) assert.deepEqual(folderAccess(ws, dir, true), { kind: 'write' });
  });

  it('untrusted: folders inside the workspace (symlinks resolved) are read-only', () => {
    assert.deepEqual(folderAccess(ws, path.join(ws, '.wisejson'), false), { kind: 'read-only' });
    assert.deepEqual(folderAccess(ws, path.join(ws, 'link-in'), false), { kind: 'read-only' });
    assert.deepEqual(folderAccess(ws, path.join(ws, 'sub', '..', '.wisejson'), false), { kind: 'read-only' });
  });

  it('untrusted: absolute, ../.. and symlinked-out folders need trust, and say why', () => {
    const up = path.join(ws, '..', '..');
    for (const dir of [outside, up, path.join(ws, '..', 'elsewhere')]) {
      const a = folderAccess(ws, dir, false);
      assert.equal(a.kind, 'needs-trust', dir);
      assert.match((a as { reason: string }).reason, /outside the workspace folder.*Trust the workspace/);
    }
    const viaLink = folderAccess(ws, path.join(ws, 'link-out'), false);
    assert.equal(viaLink.kind, 'needs-trust');
    assert.match((viaLink as { reason: string }).reason, new RegExp(`resolves to ${fs.realpathSync(outside).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  });

  it('isInside compares whole path segments', () => {
    assert.equal(isInside('/a/b', '/a/b'), true);
    assert.equal(isInside('/a/b', '/a/b/c'), true);
    assert.equal(isInside('/a/b', '/a/bc'), false);
    assert.equal(isInside('/a/b', '/a'), false);
    assert.equal(isInside('/a/b', '/a/b/..x'), true);
  });
});
