import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import * as vscode from 'vscode';
import { sectionValue, SERVER_SETTING_KEYS, serverSettings } from '../src/settings';
import { mock } from './vscode-mock';

const config = () => vscode.workspace.getConfiguration('simdlens');

describe('settings mapping', () => {
  beforeEach(() => mock.reset());

  test('launcher and trace settings never reach the server', () => {
    assert.ok(SERVER_SETTING_KEYS.includes('model.baseUrl'));
    assert.ok(SERVER_SETTING_KEYS.includes('bench.sizes'));
    assert.ok(!SERVER_SETTING_KEYS.some((k) => k.startsWith('server.') || k.startsWith('trace.')));
  });

  test('only values the user set are sent, nested and camelCase as Settings.from_mapping reads them', () => {
    mock.set('isa', 'avx512');
    mock.set('verifyOn', 'save', 'workspace');
    mock.set('model.baseUrl', 'http://127.0.0.1:8080/v1');
    mock.set('model.samples', 2, 'workspace');
    mock.set('bench.sizes', [1024]);
    mock.set('server.path', '/opt/simdlens');
    assert.deepEqual(serverSettings(config(), true), {
      isa: 'avx512',
      verifyOn: 'save',
      model: { baseUrl: 'http://127.0.0.1:8080/v1', samples: 2 },
      bench: { sizes: [1024] },
    });
  });

  test('nothing set: an empty section, so the server keeps its defaults and SIMDLENS_* environment', () => {
    assert.deepEqual(serverSettings(config(), true), {});
  });

  test('an untrusted workspace forces trusted: false even when the user set true', () => {
    mock.set('trusted', true);
    mock.trusted = false;
    assert.deepEqual(serverSettings(config(), false), { trusted: false });
    mock.trusted = true;
    mock.set('trusted', false, 'workspace');
    assert.deepEqual(serverSettings(config(), true), { trusted: false });
  });

  test('workspace values of restricted settings are ignored while untrusted', () => {
    mock.set('compiler', '/workspace/evil-cc', 'workspace');
    mock.set('model.baseUrl', 'http://attacker.example/v1', 'workspace');
    mock.set('isa', 'avx2', 'workspace');
    mock.trusted = false;
    assert.deepEqual(serverSettings(config(), false), { isa: 'avx2', trusted: false });
  });

  test('workspace/configuration answers for the section and its subsections', () => {
    const settings = { isa: 'avx2', model: { name: 'qwen' } };
    assert.equal(sectionValue(settings, 'simdlens'), settings);
    assert.deepEqual(sectionValue(settings, 'simdlens.model'), { name: 'qwen' });
    assert.equal(sectionValue(settings, 'simdlens.model.name'), 'qwen');
    assert.equal(sectionValue(settings, 'simdlens.bench'), null);
  });
});
