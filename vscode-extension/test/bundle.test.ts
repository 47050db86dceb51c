import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import Module from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as vscodeMock from './vscode-mock';
import { mock } from './vscode-mock';

// out/test/ -> vscode-extension/dist/extension.js, built by `npm test` before the tests
const bundle = path.resolve(__dirname, '..', '..', 'dist', 'extension.js');

test('the shipped bundle loads with the real language client and reports a missing server once', async (t) => {
  if (!fs.existsSync(bundle)) return t.skip(`run "node esbuild.mjs" first: ${bundle} missing`);
  const loader = Module as unknown as { _load(request: string, ...rest: unknown[]): unknown };
  const original = loader._load;
  // vscode-languageclient subclasses many vscode classes at load time; the mock has only what the
  // extension uses, so anything else is an empty class here (enough to load, never called)
  const vscode = new Proxy(vscodeMock as Record<string | symbol, unknown>, {
    get: (target, name) => (name in target ? target[name] : class Unused {}),
  });
  loader._load = function (request: string, ...rest: unknown[]) {
    return request === 'vscode' ? vscode : original.call(this, request, ...rest);
  };
  try {
    const ext = require(bundle) as {
      activate(c: unknown): Promise<{ state: { server: string }; ready: Promise<void> }>;
      deactivate(): Promise<void>;
    };
    assert.equal(typeof ext.activate, 'function');
    assert.equal(typeof ext.deactivate, 'function');
    mock.reset();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simdlens-bundle-'));
    const broken = path.join(dir, 'simdlens');
    fs.writeFileSync(broken, '#!/bin/sh\necho "broken install" >&2\nexit 1\n', { mode: 0o755 });
    mock.set('server.path', broken);
    const savedPath = process.env.PATH;
    process.env.PATH = dir; // only the broken one is on PATH, so nothing works
    try {
      const running = await ext.activate({ subscriptions: [] });
      await running.ready;
      assert.equal(running.state.server, 'not-installed');
    } finally {
      process.env.PATH = savedPath;
    }
    assert.equal(mock.errors.length, 1);
    assert.match(mock.errors[0].message, /pipx install simdlens/);
    assert.ok(mock.output.some((l) => l.includes('simdlens.server.path') && l.includes('broken install')));
    await ext.deactivate();
  } finally {
    loader._load = original;
  }
});
