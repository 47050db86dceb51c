import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import {
  findOnPath,
  LauncherEnv,
  PIPX_INSTALL,
  probeProcess,
  ProbeResult,
  selectServer,
  ServerCommand,
} from '../src/launcher';

function fakeEnv(options: {
  serverPath?: string;
  python?: string;
  pythonExtension?: string;
  onPath?: string;
  working: string[];
}): LauncherEnv & { probed: string[] } {
  const probed: string[] = [];
  return {
    probed,
    serverPath: options.serverPath ?? '',
    python: options.python ?? '',
    pythonExtensionInterpreter: async () => options.pythonExtension,
    findOnPath: (name) => (name === 'simdlens' ? options.onPath : undefined),
    probe: async (c: ServerCommand): Promise<ProbeResult> => {
      probed.push(c.command);
      return options.working.includes(c.command)
        ? { ok: true, detail: 'simdlens 0.1.0' }
        : { ok: false, detail: 'No module named simdlens' };
    },
  };
}

describe('launcher selection order', () => {
  test('simdlens.server.path wins and nothing else is probed', async () => {
    const env = fakeEnv({ serverPath: '/opt/simdlens/bin/simdlens', python: '/usr/bin/python3', onPath: '/usr/bin/simdlens', working: ['/opt/simdlens/bin/simdlens', '/usr/bin/python3', '/usr/bin/simdlens'] });
    const s = await selectServer(env);
    assert.deepEqual(s.selected, { source: 'simdlens.server.path', command: '/opt/simdlens/bin/simdlens', args: ['serve'] });
    assert.deepEqual(env.probed, ['/opt/simdlens/bin/simdlens']);
    assert.equal(s.version, 'simdlens 0.1.0');
  });

  test('simdlens.server.python runs the module with -m simdlens serve', async () => {
    const env = fakeEnv({ python: '/home/u/venv/bin/python', pythonExtension: '/usr/bin/python3', working: ['/home/u/venv/bin/python', '/usr/bin/python3'] });
    const s = await selectServer(env);
    assert.deepEqual(s.selected, { source: 'simdlens.server.python', command: '/home/u/venv/bin/python', args: ['-m', 'simdlens', 'serve'] });
  });

  test('a broken server.path falls through to the Python extension, then PATH', async () => {
    const env = fakeEnv({ serverPath: '/nope/simdlens', pythonExtension: '/usr/bin/python3', onPath: '/usr/local/bin/simdlens', working: ['/usr/local/bin/simdlens'] });
    const s = await selectServer(env);
    assert.equal(s.selected?.source, 'PATH');
    assert.deepEqual(env.probed, ['/nope/simdlens', '/usr/bin/python3', '/usr/local/bin/simdlens']);
    assert.deepEqual(s.attempts.map((a) => a.result.ok), [false, false, true]);
  });

  test('the Python extension interpreter is used before PATH', async () => {
    const env = fakeEnv({ pythonExtension: '/home/u/.venv/bin/python', onPath: '/usr/bin/simdlens', working: ['/home/u/.venv/bin/python', '/usr/bin/simdlens'] });
    const s = await selectServer(env);
    assert.deepEqual(s.selected?.args, ['-m', 'simdlens', 'serve']);
    assert.equal(s.selected?.source, 'Python extension');
  });

  test('nothing found: the install command is pipx, or pip for the interpreter we found', async () => {
    const none = await selectServer(fakeEnv({ working: [] }));
    assert.equal(none.selected, undefined);
    assert.equal(none.attempts.length, 0);
    assert.equal(none.installCommand, PIPX_INSTALL);

    const withPython = await selectServer(fakeEnv({ pythonExtension: '/home/u/my env/bin/python', working: [] }));
    assert.equal(withPython.selected, undefined);
    assert.equal(withPython.installCommand, '"/home/u/my env/bin/python" -m pip install simdlens');
  });
});

describe('real PATH lookup and probe', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simdlens-launcher-'));
  const good = path.join(dir, 'good', 'simdlens');
  const liar = path.join(dir, 'liar', 'simdlens');
  const plain = path.join(dir, 'plain', 'simdlens');
  for (const [file, body, mode] of [
    [good, '#!/bin/sh\n[ "$1" = --version ] && echo "simdlens 9.9.9" && exit 0\nexit 3\n', 0o755],
    [liar, '#!/bin/sh\necho "something else 1.0"\n', 0o755],
    [plain, '#!/bin/sh\necho simdlens\n', 0o644],
  ] as const) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, body, { mode });
  }

  test('findOnPath skips non-executable files and relative PATH entries', () => {
    const envPath = ['relative/dir', path.dirname(plain), path.dirname(good)].join(path.delimiter);
    assert.equal(findOnPath('simdlens', envPath, 'linux'), good);
    assert.equal(findOnPath('simdlens', path.dirname(plain), 'linux'), undefined);
  });

  test('probe accepts only an executable that says it is simdlens', async () => {
    assert.deepEqual(await probeProcess({ source: 'PATH', command: good, args: ['serve'] }), { ok: true, detail: 'simdlens 9.9.9' });
    const wrong = await probeProcess({ source: 'PATH', command: liar, args: ['serve'] });
    assert.equal(wrong.ok, false);
    assert.match(wrong.detail, /unexpected --version output: something else/);
    const missing = await probeProcess({ source: 'simdlens.server.path', command: path.join(dir, 'missing'), args: ['serve'] });
    assert.deepEqual(missing, { ok: false, detail: 'not found' });
  });

  test('probe of the project venv finds the real simdlens module', async (t) => {
    // out/test/ -> vscode-extension/ -> checkout root
    const python = path.resolve(__dirname, '..', '..', '..', '.venv', 'bin', 'python');
    if (!fs.existsSync(python)) return t.skip(`no project venv at ${python}`);
    const r = await probeProcess({ source: 'simdlens.server.python', command: python, args: ['-m', 'simdlens', 'serve'] });
    assert.equal(r.ok, true, r.detail);
    assert.match(r.detail, /^simdlens \d+\.\d+/);
  });

  test('probe of a python without simdlens reports why', async (t) => {
    const python = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => fs.existsSync(p));
    if (!python) return t.skip('no system python3');
    const r = await probeProcess({ source: 'simdlens.server.python', command: python, args: ['-I', '-m', 'simdlens_not_installed_here', 'serve'] });
    assert.equal(r.ok, false);
    assert.match(r.detail, /No module named simdlens_not_installed_here/);
  });
});
