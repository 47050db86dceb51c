/**
 * The simdlens VS Code extension: finds and starts `simdlens serve`, hands it the `simdlens` settings
 * (with `trusted: false` in an untrusted workspace), and shows its state in the status bar and its log
 * in an output channel. The LSP client itself comes from `client.ts` through `Dependencies`, so this file
 * can be tested against a mocked `vscode` module without starting a language client.
 *
 * The server registers its own commands (simdlens.applyAndBenchmark, verifyLoop, showReport,
 * clearCache) through `executeCommandProvider`; the language client registers those with VS Code.
 * Registering them here as well would make VS Code throw, so this file only adds restart and log.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  Attempt,
  describe,
  findOnPath,
  LauncherEnv,
  ProbeResult,
  probeProcess,
  selectServer,
  ServerCommand,
} from './launcher';
import { SECTION, sectionValue, serverSettings, SettingsObject } from './settings';
import { Progress, render, ServerState, StatusState } from './status';

export const EXTENSION_COMMANDS = { restart: 'simdlens.restartServer', showOutput: 'simdlens.showOutput' } as const;
export const SERVER_COMMANDS = [
  'simdlens.applyAndBenchmark',
  'simdlens.verifyLoop',
  'simdlens.showReport',
  'simdlens.clearCache',
] as const;
const PYTHON_EXTENSION_ID = 'ms-python.python';

export type ProgressValue =
  | { kind: 'begin'; title: string; message?: string; percentage?: number }
  | { kind: 'report'; message?: string; percentage?: number }
  | { kind: 'end'; message?: string };

/** The part of a language client this file uses. */
export interface ServerClient {
  start(): Promise<void>;
  stop(): Promise<void>;
  sendNotification(method: string, params: unknown): Promise<void>;
  onNotification(method: string, handler: (params: unknown) => void): vscode.Disposable;
  /** vscode-languageclient's State: 1 stopped, 2 running, 3 starting. */
  onDidChangeState(listener: (e: { oldState: number; newState: number }) => void): vscode.Disposable;
  readonly initializeResult: unknown;
}

const CLIENT_STOPPED = 1;
const CLIENT_RUNNING = 2;

/** What the client needs from the extension; `client.ts` turns it into LanguageClient options. */
export interface ClientSetup {
  server: ServerCommand;
  cwd?: string;
  outputChannel: vscode.OutputChannel;
  initializationOptions: { simdlens: SettingsObject };
  /** The answer to one `workspace/configuration` item of our own section. */
  configuration(section: string, scopeUri?: string): unknown;
  onProgress(token: string, value: ProgressValue): void;
  /** Arguments for a server command invoked without any (from the command palette). */
  commandArguments(command: string, args: unknown[]): unknown[];
  /** What to do with a server command's result (e.g. show the markdown report). */
  commandResult(command: string, result: unknown): Promise<unknown>;
}

export interface Dependencies {
  createClient(setup: ClientSetup): ServerClient;
  probe(candidate: ServerCommand): Promise<ProbeResult>;
  findOnPath(executable: string): string | undefined;
}

async function defaultDependencies(): Promise<Dependencies> {
  // loaded lazily: tests inject their own client and never load vscode-languageclient
  const { createLanguageClient } = await import('./client');
  return { createClient: createLanguageClient, probe: (c) => probeProcess(c), findOnPath: (e) => findOnPath(e) };
}

let running: SimdlensExtension | undefined;

/** Returns at once; finding and starting the server (`ready`) goes on in the background. */
export async function activate(context: vscode.ExtensionContext, deps?: Dependencies): Promise<SimdlensExtension> {
  const extension = new SimdlensExtension(context, deps ?? (await defaultDependencies()));
  running = extension;
  extension.ready = extension.start();
  return extension;
}

export async function deactivate(): Promise<void> {
  const extension = running;
  running = undefined;
  await extension?.stop();
}

export class SimdlensExtension {
  readonly output: vscode.OutputChannel;
  readonly statusItem: vscode.StatusBarItem;
  readonly state: StatusState;
  client: ServerClient | undefined;
  /** Settles when the first start attempt has finished (it never rejects). */
  ready: Promise<void> = Promise.resolve();
  lastSelection: { selected?: ServerCommand; attempts: Attempt[]; installCommand: string } | undefined;
  private missingNotified = false;
  private serverIsa: string | undefined;
  private queue: Promise<void> = Promise.resolve();
  private clientListeners: vscode.Disposable[] = [];

  constructor(
    context: vscode.ExtensionContext,
    private readonly deps: Dependencies,
  ) {
    this.output = vscode.window.createOutputChannel('simdlens');
    this.statusItem = vscode.window.createStatusBarItem('simdlens.status', vscode.StatusBarAlignment.Right, 100);
    this.statusItem.name = 'simdlens';
    this.statusItem.command = EXTENSION_COMMANDS.showOutput;
    this.state = { server: 'starting', trusted: vscode.workspace.isTrusted, isa: this.configuredIsa(), progress: new Map() };
    context.subscriptions.push(
      this.output,
      this.statusItem,
      vscode.commands.registerCommand(EXTENSION_COMMANDS.restart, () => this.restart(true)),
      vscode.commands.registerCommand(EXTENSION_COMMANDS.showOutput, () => this.output.show(true)),
      vscode.workspace.onDidChangeConfiguration((e) => this.onConfigurationChanged(e)),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        this.log('workspace trusted: restarting the server with verification enabled');
        void this.restart(false);
      }),
    );
    this.refreshStatus();
    this.statusItem.show();
  }

  start(): Promise<void> {
    return this.enqueue(() => this.startNow());
  }

  stop(): Promise<void> {
    return this.enqueue(() => this.stopNow());
  }

  /** `byUser`: the restart command; a missing server is then reported again. */
  restart(byUser: boolean): Promise<void> {
    if (byUser) this.missingNotified = false;
    return this.enqueue(async () => {
      await this.stopNow();
      await this.startNow();
    });
  }

  /** The `simdlens` section as the server gets it. */
  serverSettings(scope?: vscode.Uri): SettingsObject {
    return serverSettings(vscode.workspace.getConfiguration(SECTION, scope), vscode.workspace.isTrusted);
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const next = this.queue.then(op, op);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async startNow(): Promise<void> {
    this.state.trusted = vscode.workspace.isTrusted;
    this.state.progress.clear();
    this.setServer('starting');
    const selection = await selectServer(this.launcherEnv());
    this.lastSelection = selection;
    for (const { candidate, result } of selection.attempts) {
      this.log(`${candidate.source}: ${describe(candidate)} -> ${result.ok ? result.detail : 'unusable: ' + result.detail}`);
    }
    const server = selection.selected;
    // a path the user set that does not work is named, whatever else was found
    const brokenPath = selection.attempts.find((a) => a.candidate.source === 'simdlens.server.path' && !a.result.ok);
    const pathProblem = brokenPath ? `simdlens.server.path "${brokenPath.candidate.command}" did not start: ${brokenPath.result.detail}` : '';
    if (!server) {
      const tried = selection.attempts.map((a) => `${a.candidate.source} (${a.result.detail})`).join(', ');
      const detail = pathProblem ? `${pathProblem}. Fix the setting, or clear it and install simdlens: ${selection.installCommand}` : `Install it with: ${selection.installCommand}`;
      this.log(`no simdlens server found${tried ? '; tried ' + tried : ' (simdlens is not on PATH)'}. ${detail}`);
      this.setServer('not-installed', detail);
      this.notifyMissing(selection.installCommand, pathProblem);
      return;
    }
    if (pathProblem && !this.missingNotified) {
      this.missingNotified = true;
      this.log(`${pathProblem}; using ${describe(server)} (${server.source}) instead`);
      void vscode.window.showWarningMessage(`simdlens: ${pathProblem}; using ${describe(server)} (${server.source}) instead.`);
    }
    if (!this.state.trusted) this.log('workspace not trusted: limited mode (analysis only; nothing is compiled or run)');
    const client = this.deps.createClient(this.clientSetup(server));
    this.client = client;
    this.clientListeners.push(
      client.onNotification('simdlens/status', (params) => this.onServerStatus(params)),
      // the client restarts a crashed server a few times, then gives up: show both in the status bar
      client.onDidChangeState((e) => {
        if (this.client !== client) return;
        if (e.newState === CLIENT_STOPPED) {
          this.state.progress.clear();
          this.setServer('stopped', 'The server exited (see the log); run "simdlens: Restart Server".');
        } else if (e.newState === CLIENT_RUNNING && this.state.server === 'stopped') {
          this.setServer('running', `${selection.version ?? 'simdlens'} via ${server.source}`);
        }
      }),
    );
    try {
      await client.start();
    } catch (error) {
      this.client = undefined;
      const message = error instanceof Error ? error.message : String(error);
      this.log(`the server failed to start: ${message}`);
      this.setServer('failed', message);
      return;
    }
    this.onServerStatus(readExperimental(client.initializeResult));
    this.setServer('running', `${selection.version ?? 'simdlens'} via ${server.source}`);
  }

  private async stopNow(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.serverIsa = undefined;
    this.state.isa = this.configuredIsa();
    this.state.progress.clear();
    for (const listener of this.clientListeners.splice(0)) listener.dispose();
    if (client) {
      try {
        await client.stop();
      } catch (error) {
        this.log(`stopping the server: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    this.setServer('stopped');
  }

  private clientSetup(server: ServerCommand): ClientSetup {
    const folder = vscode.workspace.workspaceFolders?.[0];
    return {
      server,
      cwd: folder?.uri.scheme === 'file' ? folder.uri.fsPath : undefined,
      outputChannel: this.output,
      initializationOptions: { simdlens: this.serverSettings() },
      configuration: (section, scopeUri) =>
        sectionValue(this.serverSettings(scopeUri ? vscode.Uri.parse(scopeUri) : undefined), section),
      onProgress: (token, value) => this.onProgress(token, value),
      commandArguments: (command, args) => this.commandArguments(command, args),
      commandResult: (command, result) => this.commandResult(command, result),
    };
  }

  private launcherEnv(): LauncherEnv {
    const config = vscode.workspace.getConfiguration(SECTION);
    return {
      serverPath: config.get<string>('server.path') ?? '',
      python: config.get<string>('server.python') ?? '',
      pythonExtensionInterpreter: () => this.pythonExtensionInterpreter(),
      findOnPath: (e) => this.deps.findOnPath(e),
      probe: (c) => this.deps.probe(c),
    };
  }

  /** The Python extension's active interpreter; optional, so every failure just means "none". */
  async pythonExtensionInterpreter(): Promise<string | undefined> {
    const ext = vscode.extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION_ID);
    if (!ext) return undefined;
    try {
      const api = ext.isActive ? ext.exports : await withTimeout(ext.activate(), 10000);
      const resource = vscode.window.activeTextEditor?.document.uri ?? vscode.workspace.workspaceFolders?.[0]?.uri;
      let interpreter: string | undefined;
      const environments = api?.environments;
      if (environments?.getActiveEnvironmentPath) {
        const active = environments.getActiveEnvironmentPath(resource);
        const resolved = environments.resolveEnvironment ? await withTimeout(environments.resolveEnvironment(active), 10000) : undefined;
        interpreter = resolved?.executable?.uri?.fsPath ?? active?.path;
      } else if (api?.settings?.getExecutionDetails) {
        interpreter = api.settings.getExecutionDetails(resource)?.execCommand?.[0];
      }
      if (interpreter && !vscode.workspace.isTrusted && this.insideWorkspace(interpreter)) {
        // a virtualenv shipped inside an untrusted workspace is code from that workspace
        this.log(`Python extension interpreter ${interpreter} is inside the untrusted workspace; not using it`);
        return undefined;
      }
      return interpreter || undefined;
    } catch (error) {
      this.log(`Python extension: no interpreter (${error instanceof Error ? error.message : String(error)})`);
      return undefined;
    }
  }

  private insideWorkspace(file: string): boolean {
    return (vscode.workspace.workspaceFolders ?? []).some((folder) => {
      const rel = path.relative(folder.uri.fsPath, file);
      return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
    });
  }

  /** `pathProblem`: the configured `simdlens.server.path` that failed, and how; said first when set. */
  private notifyMissing(installCommand: string, pathProblem = ''): void {
    if (this.missingNotified) return;
    this.missingNotified = true;
    const copy = 'Copy Install Command';
    const settings = 'Set Server Path';
    const message = pathProblem
      ? `simdlens: ${pathProblem}. Fix the setting (or clear it and install the server with: ${installCommand}) — then run "simdlens: Restart Server".`
      : `simdlens: the language server is not installed. Install it with: ${installCommand} — then run "simdlens: Restart Server".`;
    void vscode.window
      .showErrorMessage(message, copy, settings)
      .then((choice) => {
        if (choice === copy) void vscode.env.clipboard.writeText(installCommand);
        if (choice === settings) void vscode.commands.executeCommand('workbench.action.openSettings', 'simdlens.server');
      });
  }

  private onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (!event.affectsConfiguration(SECTION)) return;
    this.state.isa = this.serverIsa ?? this.configuredIsa();
    this.refreshStatus();
    if (event.affectsConfiguration(`${SECTION}.server`)) {
      this.log('server launch settings changed: restarting');
      void this.restart(false);
      return;
    }
    const client = this.client;
    if (client && this.state.server === 'running') {
      void client.sendNotification('workspace/didChangeConfiguration', { settings: { simdlens: this.serverSettings() } });
    }
  }

  private onProgress(token: string, value: ProgressValue): void {
    if (value.kind === 'begin') {
      this.state.progress.set(token, { title: value.title, message: value.message, percentage: value.percentage });
    } else if (value.kind === 'report') {
      const job: Progress = this.state.progress.get(token) ?? { title: 'working' };
      this.state.progress.set(token, { ...job, message: value.message ?? job.message, percentage: value.percentage ?? job.percentage });
    } else {
      this.state.progress.delete(token);
    }
    this.refreshStatus();
  }

  /** The server may report the ISA it resolved `auto` to: `simdlens/status` or `capabilities.experimental.simdlens`. */
  private onServerStatus(params: unknown): void {
    const raw = params && typeof params === 'object' ? (params as { isa?: unknown }).isa : undefined;
    // one ISA ("avx512") or every ISA `auto` resolved to (["avx2", "avx512"])
    const isa = Array.isArray(raw) ? raw.filter((x) => typeof x === 'string').join('+') : raw;
    if (typeof isa === 'string' && isa) {
      this.serverIsa = isa;
      this.state.isa = isa;
      this.refreshStatus();
    }
  }

  /**
   * From the palette a server command has no arguments; the server wants `uri` (verifyLoop: the whole
   * file, showReport). applyAndBenchmark needs a candidate and runs only from code lenses.
   */
  private commandArguments(command: string, args: unknown[]): unknown[] {
    if (args.length > 0 || !['simdlens.verifyLoop', 'simdlens.showReport'].includes(command)) return args;
    const editor = vscode.window.activeTextEditor;
    if (!editor || !['c', 'cpp'].includes(editor.document.languageId)) return args;
    return [editor.document.uri.toString()];
  }

  /** showReport returns `{markdown, shown}`: open the markdown unless the server already showed it. */
  private async commandResult(command: string, result: unknown): Promise<unknown> {
    const answer = (result ?? {}) as { markdown?: unknown; shown?: unknown };
    if (command === 'simdlens.showReport' && typeof answer.markdown === 'string' && answer.markdown && !answer.shown) {
      const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: answer.markdown });
      await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
    }
    return result;
  }

  private configuredIsa(): string {
    return vscode.workspace.getConfiguration(SECTION).get<string>('isa') ?? 'auto';
  }

  private setServer(server: ServerState, detail?: string): void {
    this.state.server = server;
    this.state.detail = detail;
    this.refreshStatus();
  }

  private refreshStatus(): void {
    const shown = render(this.state);
    this.statusItem.text = shown.text;
    this.statusItem.tooltip = shown.tooltip;
    this.statusItem.backgroundColor = shown.warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }

  log(line: string): void {
    this.output.appendLine(`[extension] ${line}`);
  }
}

function readExperimental(initializeResult: unknown): unknown {
  const result = initializeResult as { capabilities?: { experimental?: { simdlens?: unknown } } } | undefined;
  return result?.capabilities?.experimental?.simdlens;
}

function withTimeout<T>(promise: Thenable<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** The Python extension's API, as far as it is used here (both its newer and older shapes). */
interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath?(resource?: vscode.Uri): { id: string; path: string };
    resolveEnvironment?(env: { id: string; path: string }): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
  };
  settings?: {
    getExecutionDetails?(resource?: vscode.Uri): { execCommand?: string[] } | undefined;
  };
}
