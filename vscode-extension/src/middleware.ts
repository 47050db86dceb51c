/**
 * The language-client middleware: answers `workspace/configuration` for the `simdlens` section from
 * `ClientSetup` (mapped settings, trust applied) and passes other sections on, mirrors work-done progress
 * into the status bar, and fills in the active editor for server commands run from the command palette.
 * Only types come from vscode-languageclient, so this is testable without a client.
 */
import type { Middleware } from 'vscode-languageclient/node';
import type { ClientSetup, ProgressValue } from './extension';
import { isOwnSection } from './settings';

export function simdlensMiddleware(setup: ClientSetup): Middleware {
  return {
    workspace: {
      configuration: async (params, token, next) => {
        const others = params.items.filter((item) => !isOwnSection(item.section));
        let rest: unknown[] = [];
        if (others.length > 0) {
          const result = await next({ items: others }, token);
          rest = Array.isArray(result) ? [...result] : others.map(() => null);
        }
        return params.items.map((item) =>
          isOwnSection(item.section) ? setup.configuration(item.section, item.scopeUri) : (rest.shift() ?? null),
        );
      },
    },
    handleWorkDoneProgress: (token, params, next) => {
      setup.onProgress(String(token), params as ProgressValue);
      next(token, params);
    },
    executeCommand: async (command, args, next) => {
      const result = await next(command, setup.commandArguments(command, args));
      return setup.commandResult(command, result);
    },
  };
}
