import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import * as vscode from 'vscode';
import manifest from '../package.json';
import { activate, ClientSetup, deactivate, Dependencies, SERVER_COMMANDS, ServerClient, SimdlensExtension } from '../src/extension';
import { ServerCommand } from '../src/launcher';
import { mock } from './vscode-mock';

class FakeClient implements ServerClient {
  started = false;
  stopped = false;
  notifications: { method: string; params: unknown }[] = [];
  handlers = new Map<string, (params: unknown) => void>();
  stateListeners: ((e: { oldState: number; newState: number }) => void)[] = [];
  initializeResult: unknown = { capabilities: {} };
  constructor(
    readonly setup: ClientSetup,
    private readonly failStart?: string,
  ) {}
  async start(): Promise<void> {
    if (this.failStart) throw new Error(this.failStart);
    this.started = true;
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
  async sendNotification(method: string, params: unknown): Promise<void> {
    this.notifications.push({ method, params });
  }
  onDidChangeState(listener: (e: { oldState: number; newState: number }) => void): vscode.Disposable {
    this.stateListeners.push(listener);
    return { dispose: () => (this.stateListeners = this.stateListeners.filter((l) => l !== listener)) };
  }
  onNotification(method: string, handler: (params: unknown) => void): vscode.Disposable {
    this.handlers.set(method, handler);
    return { dispose: () => this.handlers.delete(method) };
  }
}

function harness(options: { working?: string[]; onPath?: string; failStart?: string; initializeResult?: unknown } = {}) {
  const clients: FakeClient[] = [];
  const probed: ServerCommand[] = [];
  const deps: Dependencies = {
    createClient: (setup) => {
      const c = new FakeClient(setup, options.failStart);
      if (options.initializeResult) c.initializeResult = options.initializeResult;
      clients.push(c);
      return c;
    },
    probe: async (c) => {
      probed.push(c);
      return (options.working ?? []).includes(c.command) ? { ok: true, detail: 'simdlens 0.1.0' } : { ok: false, detail: 'not found' };
    },
    findOnPath: () => options.onPath,
  };
  const context = { subscriptions: [] as { dispose(): unknown }[] };
  const start = async () => {
    const ext = await activate(context as unknown as vscode.ExtensionContext, deps);
    await ext.ready;
    return ext;
  };
  return { clients, probed, deps, context, start };
}

const status = () => mock.statusItems[0];
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('activation', () => {
  beforeEach(() => mock.reset());
  afterEach(async () => {
    await deactivate();
  });

  test('activation returns before the server search finishes', async () => {
    let release: (r: { ok: boolean; detail: string }) => void = () => undefined;
    let probing: () => void = () => undefined;
    const probed = new Promise<void>((resolve) => (probing = resolve));
    const h = harness({ onPath: '/usr/bin/simdlens' });
    h.deps.probe = () =>
      new Promise((resolve) => {
        release = resolve;
        probing();
      });
    const ext = await activate(h.context as unknown as vscode.ExtensionContext, h.deps);
    await probed; // the probe hangs: activation has returned all the same
    assert.equal(ext.state.server, 'starting');
    assert.equal(status().text, '$(loading~spin) simdlens');
    release({ ok: true, detail: 'simdlens 0.1.0' });
    await ext.ready;
    assert.equal(ext.state.server, 'running');
  });

  test('activates on C and C++ only', () => {
    assert.deepEqual(manifest.activationEvents, ['onLanguage:c', 'onLanguage:cpp']);
    assert.equal(manifest.main, './dist/extension.js');
  });

  test('starts the server found on PATH and registers only its own commands', async () => {
    const h = harness({ onPath: '/usr/bin/simdlens', working: ['/usr/bin/simdlens'] });
    const ext = await h.start();
    assert.equal(h.clients.length, 1);
    assert.ok(h.clients[0].started);
    assert.deepEqual(h.clients[0].setup.server, { source: 'PATH', command: '/usr/bin/simdlens', args: ['serve'] });
    assert.deepEqual([...mock.commands.keys()].sort(), ['simdlens.restartServer', 'simdlens.showOutput']);
    for (const id of SERVER_COMMANDS) assert.ok(!mock.commands.has(id), `${id} is the server's to register`);
    assert.equal(ext.state.server, 'running');
    assert.ok(status().visible);
    assert.equal(status().text, '$(pulse) simdlens auto');
    assert.ok(mock.output.some((l) => l.includes('PATH: /usr/bin/simdlens serve -> simdlens 0.1.0')));
  });

  test('the ISA the server reports replaces the setting in the status bar', async () => {
    mock.set('isa', 'avx2');
    const h = harness({ onPath: '/usr/bin/simdlens', working: ['/usr/bin/simdlens'] });
    await h.start();
    assert.equal(status().text, '$(pulse) simdlens AVX2');
    h.clients[0].handlers.get('simdlens/status')?.({ isa: 'avx512' });
    assert.equal(status().text, '$(pulse) simdlens AVX-512');
    h.clients[0].handlers.get('simdlens/status')?.({ isa: ['avx2', 'avx512'] });
    assert.equal(status().text, '$(pulse) simdlens AVX2 + AVX-512');
  });

  test('or announces it in its initialize result', async () => {
    const h = harness({
      onPath: '/usr/bin/simdlens',
      working: ['/usr/bin/simdlens'],
      initializeResult: { capabilities: { experimental: { simdlens: { isa: ['avx2', 'avx512'] } } } },
    });
    await h.start();
    assert.equal(status().text, '$(pulse) simdlens AVX2 + AVX-512');
  });

  test('background verification progress shows in the status bar and clears when done', async () => {
    const h = harness({ onPath: '/usr/bin/simdlens', working: ['/usr/bin/simdlens'] });
    await h.start();
    const { onProgress } = h.clients[0].setup;
    onProgress('t1', { kind: 'begin', title: 'verifying AVX2', message: '1/4 loops', percentage: 25 });
    assert.equal(status().text, '$(sync~spin) simdlens auto: verifying AVX2: 1/4 loops 25%');
    onProgress('t1', { kind: 'report', message: '3/4 loops', percentage: 75 });
    assert.equal(status().text, '$(sync~spin) simdlens auto: verifying AVX2: 3/4 loops 75%');
    onProgress('t2', { kind: 'begin', title: 'simdlens', message: 'verifying 2 loops' });
    assert.equal(status().text, '$(sync~spin) simdlens auto: verifying 2 loops (+1)');
    onProgress('t2', { kind: 'end' });
    onProgress('t1', { kind: 'end' });
    assert.equal(status().text, '$(pulse) simdlens auto');
  });

  test('no server anywhere: one notification with the exact install command, and it can be copied', async () => {
    mock.errorChoice = 'Copy Install Command';
    const h = harness();
    const ext = await h.start();
    assert.equal(h.clients.length, 0);
    assert.equal(ext.state.server, 'not-installed');
    assert.equal(mock.errors.length, 1);
    assert.match(mock.errors[0].message, /Install it with: pipx install simdlens/);
    await settle();
    assert.equal(mock.clipboard, 'pipx install simdlens');
    await ext.start(); // e.g. a configuration change: no second notification
    assert.equal(mock.errors.length, 1);
    await ext.restart(true); // the user asked again: tell them again
    assert.equal(mock.errors.length, 2);
    assert.match(status().text, /not installed/);
  });

  test('a broken simdlens.server.path is named, with why it failed', async () => {
    mock.set('server.path', '/opt/nowhere/simdlens');
    const h = harness();
    const ext = await h.start();
    assert.equal(ext.state.server, 'not-installed');
    assert.equal(mock.errors.length, 1);
    assert.match(mock.errors[0].message, /simdlens\.server\.path "\/opt\/nowhere\/simdlens" did not start: not found/);
    assert.match(String(status().tooltip), /\/opt\/nowhere\/simdlens/);
  });

  test('a broken simdlens.server.path with a server on PATH: that one runs, and the user is told', async () => {
    mock.set('server.path', '/opt/nowhere/simdlens');
    const h = harness({ onPath: '/usr/bin/simdlens', working: ['/usr/bin/simdlens'] });
    const ext = await h.start();
    assert.equal(ext.state.server, 'running');
    assert.equal(mock.warnings.length, 1);
    assert.match(mock.warnings[0].message, /"\/opt\/nowhere\/simdlens" did not start: not found; using \/usr\/bin\/simdlens serve \(PATH\)/);
  });

  test('a python interpreter without simdlens gets its own pip command', async () => {
    mock.set('server.python', '/home/u/venv/bin/python');
    const h = harness();
    await h.start();
    assert.match(mock.errors[0].message, /Install it with: \/home\/u\/venv\/bin\/python -m pip install simdlens/);
  });

  test('a server that fails to start is reported, not thrown', async () => {
    const h = harness({ onPath: '/usr/bin/simdlens', working: ['/usr/bin/simdlens'], failStart: 'exited with code 1' });
    const ext = await h.start();
    assert.equal(ext.state.server, 'failed');
    assert.match(status().text, /failed/);
    assert.ok(mock.output.some((l) => l.includes('exited with code 1')));
  });

  test('a server that dies later shows as stopped, and running again when the client restarts it', async () => {
    const h = harness({ onPath: '/usr/bin/simdlens', working: ['/usr/bin/simdlens'] });
    const ext = await h.start();
    h.clients[0].setup.onProgress('t', { kind: 'begin', title: 'simdlens', message: 'verifying 1 loop' });
    for (const l of h.clients[0].stateListeners) l({ oldState: 2, newState: 1 });
    assert.equal(ext.state.server, 'stopped');
    assert.match(status().text, /stopped/);
    assert.match(String(status().tooltip), /Restart Server/);
    for (const l of h.clients[0].stateListeners) l({ oldState: 3, newState: 2 });
    assert.equal(status().text, '$(pulse) simdlens auto');
  });

  test('restart command stops the client and starts a new one', async () => {
    const h = harness({ onPath: '/usr/bin/simdlens', working: ['/usr/bin/simdlens'] });
    await h.start();
    await mock.commands.get('simdlens.restartServer')?.();
    assert.equal(h.clients.length, 2);
    assert.ok(h.clients[0].stopped);
    assert.ok(h.clients[1].started);
  });
});

describe('settings reach the server', () => {
  beforeEach(() => mock.reset());
  afterEach(async () => {
    await deactivate();
  });

  test('initializationOptions and workspace/configuration carry the mapped section', async () => {
    mock.set('isa', 'avx512');
    mock.set('model.name', 'qwen2.5-coder');
    const h = harness({ onPath: '/usr/bin/simdlens', working: ['/usr/bin/simdlens'] });
    await h.start();
    const setup = h.clients[0].setup;
    assert.deepEqual(setup.initializationOptions, { simdlens: { isa: 'avx512', model: { name: 'qwen2.5-coder' } } });
    mock.set('verifyOn', 'save');
    assert.deepEqual(setup.configuration('simdlens'), { isa: 'avx512', verifyOn: 'save', model: { name: 'qwen2.5-coder' } });
  });

  test('a changed server setting is pushed; a changed launch setting restarts', async () => {
    mock.set('server.path', '/opt/a/simdlens');
    const h = harness({ onPath: '/usr/bin/simdlens', working: ['/opt/a/simdlens', '/opt/b/simdlens'] });
    const ext = await h.start();
    mock.set('diagnostics', 'verified', 'global', true);
    assert.deepEqual(h.clients[0].notifications, [
      { method: 'workspace/didChangeConfiguration', params: { settings: { simdlens: { diagnostics: 'verified' } } } },
    ]);
    mock.set('server.path', '/opt/b/simdlens', 'global', true);
    await settle();
    await ext.stop().then(() => undefined); // waits for the queued restart
    assert.equal(h.clients.length, 2);
    assert.equal(h.clients[1].setup.server.command, '/opt/b/simdlens');
  });
});

describe('workspace trust', () => {
  beforeEach(() => mock.reset());
  afterEach(async () => {
    await deactivate();
  });

  test('untrusted: limited mode, server told trusted=false, status bar says so', async () => {
    mock.trusted = false;
    const h = harness({ onPath: '/usr/bin/simdlens', working: ['/usr/bin/simdlens'] });
    const ext = await h.start();
    assert.deepEqual(h.clients[0].setup.initializationOptions, { simdlens: { trusted: false } });
    assert.deepEqual(h.clients[0].setup.configuration('simdlens'), { trusted: false });
    assert.equal(ext.state.trusted, false);
    assert.match(status().text, /limited: untrusted workspace/);
    assert.match(String(status().tooltip), /nothing is compiled or run/);
  });

  test('untrusted: a workspace-level server.path is ignored (restricted), the user-level PATH server is used', async () => {
    mock.trusted = false;
    mock.set('server.path', './tools/simdlens', 'workspace');
    const h = harness({ onPath: '/usr/bin/simdlens', working: ['./tools/simdlens', '/usr/bin/simdlens'] });
    await h.start();
    assert.deepEqual(h.probed.map((c) => c.command), ['/usr/bin/simdlens']);
  });

  test('granting trust restarts the server with verification enabled', async () => {
    mock.trusted = false;
    const h = harness({ onPath: '/usr/bin/simdlens', working: ['/usr/bin/simdlens'] });
    const ext = await h.start();
    mock.grantTrust();
    await settle();
    await ext.stop();
    assert.equal(h.clients.length, 2);
    assert.ok(h.clients[0].stopped);
    assert.deepEqual(h.clients[1].setup.initializationOptions, { simdlens: {} });
    assert.equal(ext.state.trusted, true);
  });
});

describe('Python extension (optional)', () => {
  beforeEach(() => mock.reset());
  afterEach(async () => {
    await deactivate();
  });

  function pythonExtension(api: unknown) {
    mock.extensions.set('ms-python.python', { isActive: false, exports: undefined, activate: async () => api });
  }

  test('its active interpreter (environments API) is used before PATH', async () => {
    pythonExtension({
      environments: {
        getActiveEnvironmentPath: () => ({ id: 'x', path: '/home/u/.venvs/hpc' }),
        resolveEnvironment: async () => ({ executable: { uri: vscode.Uri.file('/home/u/.venvs/hpc/bin/python') } }),
      },
    });
    const h = harness({ onPath: '/usr/bin/simdlens', working: ['/home/u/.venvs/hpc/bin/python', '/usr/bin/simdlens'] });
    await h.start();
    assert.deepEqual(h.clients[0].setup.server, {
      source: 'Python extension',
      command: '/home/u/.venvs/hpc/bin/python',
      args: ['-m', 'simdlens', 'serve'],
    });
  });

  test('the older execution-details API works too', async () => {
    pythonExtension({ settings: { getExecutionDetails: () => ({ execCommand: ['/usr/bin/python3.11'] }) } });
    const h = harness({ working: ['/usr/bin/python3.11'] });
    await h.start();
    assert.equal(h.clients[0].setup.server.command, '/usr/bin/python3.11');
  });

  test('absent or broken extension: silently skipped', async () => {
    mock.extensions.set('ms-python.python', { isActive: false, exports: undefined, activate: async () => { throw new Error('boom'); } });
    const h = harness({ onPath: '/usr/bin/simdlens', working: ['/usr/bin/simdlens'] });
    await h.start();
    assert.equal(h.clients[0].setup.server.source, 'PATH');
    assert.equal(mock.errors.length, 0);
  });

  test('untrusted: an interpreter inside the workspace is not run', async () => {
    mock.trusted = false;
    mock.workspaceFolders = [{ uri: vscode.Uri.file('/src/project'), name: 'project', index: 0 }];
    pythonExtension({ settings: { getExecutionDetails: () => ({ execCommand: ['/src/project/.venv/bin/python'] }) } });
    const h = harness({ onPath: '/usr/bin/simdlens', working: ['/src/project/.venv/bin/python', '/usr/bin/simdlens'] });
    await h.start();
    assert.deepEqual(h.probed.map((c) => c.command), ['/usr/bin/simdlens']);
  });
});

describe('server commands from the palette', () => {
  beforeEach(() => mock.reset());
  afterEach(async () => {
    await deactivate();
  });

  test('get the active C document; the report opens as markdown unless the server showed it', async () => {
    const h = harness({ onPath: '/usr/bin/simdlens', working: ['/usr/bin/simdlens'] });
    const ext: SimdlensExtension = await h.start();
    assert.ok(ext);
    const setup = h.clients[0].setup;
    assert.deepEqual(setup.commandArguments('simdlens.verifyLoop', []), []);
    mock.activeTextEditor = { document: { uri: vscode.Uri.file('/src/a.c'), languageId: 'c' } };
    assert.deepEqual(setup.commandArguments('simdlens.verifyLoop', []), ['file:///src/a.c']);
    assert.deepEqual(setup.commandArguments('simdlens.showReport', []), ['file:///src/a.c']);
    assert.deepEqual(setup.commandArguments('simdlens.clearCache', []), []);
    assert.deepEqual(setup.commandArguments('simdlens.verifyLoop', ['file:///b.c', 'loop1']), ['file:///b.c', 'loop1']);
    mock.activeTextEditor = { document: { uri: vscode.Uri.file('/src/notes.txt'), languageId: 'plaintext' } };
    assert.deepEqual(setup.commandArguments('simdlens.showReport', []), []);

    await setup.commandResult('simdlens.showReport', { markdown: '# simdlens report: a.c', shown: false });
    await setup.commandResult('simdlens.showReport', { markdown: '# simdlens report: b.c', uri: 'file:///r.md', shown: true });
    assert.deepEqual(mock.opened, [{ language: 'markdown', content: '# simdlens report: a.c' }]);
  });
});
