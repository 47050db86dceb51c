/**
 * The real LSP client: a `vscode-languageclient` LanguageClient over the server's stdio, for C and C++
 * documents, with the server's log in the extension's output channel and `middleware.ts` in between.
 */
import { LanguageClient, LanguageClientOptions, ServerOptions, TransportKind } from 'vscode-languageclient/node';
import type { ClientSetup, ServerClient } from './extension';
import { simdlensMiddleware } from './middleware';

export function createLanguageClient(setup: ClientSetup): ServerClient {
  const serverOptions: ServerOptions = {
    command: setup.server.command,
    args: setup.server.args,
    transport: TransportKind.stdio,
    options: { cwd: setup.cwd },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'c' },
      { scheme: 'file', language: 'cpp' },
      { scheme: 'untitled', language: 'c' },
      { scheme: 'untitled', language: 'cpp' },
    ],
    outputChannel: setup.outputChannel,
    initializationOptions: setup.initializationOptions,
    middleware: simdlensMiddleware(setup),
  };
  return new LanguageClient('simdlens', 'simdlens', serverOptions, clientOptions);
}
