/**
 * The extension's half of the contract, against the real `simdlens serve` (from the checkout's venv):
 * the server registers exactly the commands package.json contributes (so the extension must not), and
 * the settings the extension sends for an untrusted workspace make the server analyse without
 * compiling or running anything. Skipped when the venv is missing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createProtocolConnection, ProtocolConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-languageserver-protocol/node';
import * as vscode from 'vscode';
import manifest from '../package.json';
import { SERVER_COMMANDS } from '../src/extension';
import { sectionValue, serverSettings } from '../src/settings';
import { mock } from './vscode-mock';

// out/test/ -> vscode-extension/ -> checkout root
const ROOT = path.resolve(__dirname, '..', '..', '..');
const PYTHON = path.join(ROOT, '.venv', 'bin', 'python');
const FIXTURE = path.join(ROOT, 'tests', 'editors', 'fixtures', 'kernels.c');

interface Diagnostic {
  code?: string;
  source?: string;
  message: string;
  range: { start: { line: number } };
}

describe('against the real simdlens server', { skip: !fs.existsSync(PYTHON) ? `no venv at ${PYTHON}` : false }, () => {
  let connection: ProtocolConnection;
  let child: ReturnType<typeof spawn>;
  let capabilities: { executeCommandProvider?: { commands?: string[] } };
  const published: Diagnostic[][] = [];
  const stderr: string[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simdlens-ext-server-'));
  const uri = `file://${path.join(dir, 'kernels.c')}`;

  before(async () => {
    fs.copyFileSync(FIXTURE, path.join(dir, 'kernels.c'));
    mock.reset();
    mock.trusted = false; // the workspace is not trusted
    mock.set('cacheDir', path.join(dir, 'cache'));
    const settings = serverSettings(vscode.workspace.getConfiguration('simdlens'), vscode.workspace.isTrusted);
    child = spawn(PYTHON, ['-m', 'simdlens', 'serve'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
    connection = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    connection.onRequest('workspace/configuration', (params: { items: { section?: string }[] }) =>
      params.items.map((item) => (item.section?.startsWith('simdlens') ? sectionValue(settings, item.section) : null)),
    );
    connection.onRequest('window/workDoneProgress/create', () => null);
    connection.onRequest('client/registerCapability', () => null);
    connection.onRequest('workspace/codeLens/refresh', () => null);
    connection.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: Diagnostic[] }) => {
      if (p.uri === uri) published.push(p.diagnostics);
    });
    connection.listen();
    const result = (await connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: `file://${dir}`,
      capabilities: { workspace: { configuration: true, didChangeConfiguration: {} }, window: { workDoneProgress: true } },
      initializationOptions: { simdlens: settings },
    })) as { capabilities: typeof capabilities };
    capabilities = result.capabilities;
    await connection.sendNotification('initialized', {});
  });

  after(async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await Promise.race([connection.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 3000))]);
      await connection.sendNotification('exit');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    } finally {
      connection.dispose();
      if (child.exitCode === null) child.kill('SIGKILL');
      child.stdin?.destroy();
      child.stdout?.destroy();
      child.stderr?.destroy();
    }
  });

  test('the server registers exactly the commands package.json contributes for it', () => {
    const contributed = manifest.contributes.commands.map((c) => c.command);
    const registered = capabilities.executeCommandProvider?.commands ?? [];
    assert.deepEqual([...registered].sort(), [...SERVER_COMMANDS].sort());
    for (const id of registered) assert.ok(contributed.includes(id), id);
  });

  test('untrusted: loops are analysed, nothing is verified, and the diagnostics say why', async () => {
    await connection.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId: 'c', version: 1, text: fs.readFileSync(FIXTURE, 'utf8') },
    });
    const deadline = Date.now() + 20000;
    const settled = () => {
      const last = published[published.length - 1] ?? [];
      return last.length > 0 && last.filter((d) => d.code === 'SL101').every((d) => d.message.includes('not verified'));
    };
    while (!settled() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const last = published[published.length - 1] ?? [];
    assert.ok(last.length > 0, `no diagnostics; server log:\n${stderr.join('')}`);
    assert.ok(last.every((d) => d.source === 'simdlens'));
    const vectorizable = last.filter((d) => d.code === 'SL101');
    assert.equal(vectorizable.length, 3, JSON.stringify(last));
    for (const d of vectorizable) assert.match(d.message, /not verified: workspace not trusted/);
    assert.ok(!published.flat().some((d) => d.code === 'SL102'), 'a rewrite was verified in an untrusted workspace');
  });
});
