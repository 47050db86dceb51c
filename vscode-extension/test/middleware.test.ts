import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ClientSetup, ProgressValue } from '../src/extension';
import { simdlensMiddleware } from '../src/middleware';

function setup(): ClientSetup & { progress: [string, ProgressValue][] } {
  const progress: [string, ProgressValue][] = [];
  return {
    progress,
    server: { source: 'PATH', command: '/usr/bin/simdlens', args: ['serve'] },
    outputChannel: undefined as never,
    initializationOptions: { simdlens: {} },
    configuration: (section) => (section === 'simdlens' ? { isa: 'avx2', trusted: false } : { name: 'm' }),
    onProgress: (token, value) => progress.push([token, value]),
    commandArguments: (_command, args) => (args.length ? args : [{ uri: 'file:///a.c' }]),
    commandResult: async (_command, result) => ({ wrapped: result }),
  };
}

describe('language client middleware', () => {
  test('workspace/configuration: own sections from the extension, others from VS Code, in order', async () => {
    const s = setup();
    const asked: unknown[] = [];
    const configuration = simdlensMiddleware(s).workspace!.configuration!;
    const next = (params: { items: { section?: string }[] }) => {
      asked.push(...params.items.map((i) => i.section));
      return params.items.map((i) => `vscode:${i.section}`);
    };
    const answer = await configuration(
      { items: [{ section: 'editor' }, { section: 'simdlens' }, { section: 'files' }, { section: 'simdlens.model' }] },
      undefined as never,
      next as never,
    );
    assert.deepEqual(answer, ['vscode:editor', { isa: 'avx2', trusted: false }, 'vscode:files', { name: 'm' }]);
    assert.deepEqual(asked, ['editor', 'files']);
  });

  test('only our sections: VS Code is not asked', async () => {
    const configuration = simdlensMiddleware(setup()).workspace!.configuration!;
    const answer = await configuration({ items: [{ section: 'simdlens' }] }, undefined as never, (() => {
      throw new Error('must not be called');
    }) as never);
    assert.deepEqual(answer, [{ isa: 'avx2', trusted: false }]);
  });

  test('progress is mirrored and still passed on to VS Code', () => {
    const s = setup();
    const passed: unknown[] = [];
    simdlensMiddleware(s).handleWorkDoneProgress!('tok', { kind: 'begin', title: 'verifying' }, (token, params) => passed.push([token, params]));
    assert.deepEqual(s.progress, [['tok', { kind: 'begin', title: 'verifying' }]]);
    assert.deepEqual(passed, [['tok', { kind: 'begin', title: 'verifying' }]]);
  });

  test('executeCommand gets palette arguments filled and its result handled', async () => {
    const sent: unknown[] = [];
    const result = await simdlensMiddleware(setup()).executeCommand!('simdlens.showReport', [], async (command, args) => {
      sent.push([command, args]);
      return '# report';
    });
    assert.deepEqual(sent, [['simdlens.showReport', [{ uri: 'file:///a.c' }]]]);
    assert.deepEqual(result, { wrapped: '# report' });
  });
});
