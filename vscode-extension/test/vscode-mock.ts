/**
 * A small stand-in for the `vscode` module (VS Code cannot be downloaded here). esbuild aliases `vscode`
 * to this file in the test bundles. It keeps the behaviours the extension relies on: settings with
 * user/workspace layers and package.json defaults, `restrictedConfigurations` ignored from workspace
 * settings while untrusted, trust granting, duplicate command registration throwing, and a record of
 * the notifications shown.
 */
import manifest from '../package.json';

type Listener<T> = (e: T) => unknown;

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  event = (listener: Listener<T>): Disposable => {
    this.listeners.push(listener);
    return new Disposable(() => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    });
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
}

export class Disposable {
  constructor(private readonly fn: () => void = () => undefined) {}
  dispose(): void {
    this.fn();
  }
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}

export enum ViewColumn {
  Active = -1,
  Beside = -2,
  One = 1,
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly fsPath: string,
  ) {}
  static file(p: string): Uri {
    return new Uri('file', p);
  }
  static parse(value: string): Uri {
    return value.startsWith('file://') ? new Uri('file', decodeURIComponent(value.slice(7))) : new Uri('untitled', value);
  }
  toString(): string {
    return this.scheme === 'file' ? `file://${this.fsPath}` : this.fsPath;
  }
}

type Layered = { global?: unknown; workspace?: unknown };
const properties = manifest.contributes.configuration.properties as Record<string, { default?: unknown }>;
const restricted = new Set<string>(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations);

export const mock = {
  settings: new Map<string, Layered>(),
  trusted: true,
  workspaceFolders: [] as { uri: Uri; name: string; index: number }[],
  extensions: new Map<string, { isActive: boolean; exports: unknown; activate(): Promise<unknown> }>(),
  commands: new Map<string, (...args: unknown[]) => unknown>(),
  executed: [] as { command: string; args: unknown[] }[],
  errors: [] as { message: string; items: string[] }[],
  warnings: [] as { message: string; items: string[] }[],
  errorChoice: undefined as string | undefined,
  clipboard: '',
  output: [] as string[],
  statusItems: [] as StatusBarItemMock[],
  activeTextEditor: undefined as unknown,
  opened: [] as unknown[],
  configChange: new EventEmitter<{ affectsConfiguration(section: string): boolean }>(),
  trustGranted: new EventEmitter<void>(),

  reset(): void {
    this.settings.clear();
    this.trusted = true;
    this.workspaceFolders = [];
    this.extensions.clear();
    this.commands.clear();
    this.executed = [];
    this.errors = [];
    this.warnings = [];
    this.errorChoice = undefined;
    this.clipboard = '';
    this.output = [];
    this.statusItems = [];
    this.activeTextEditor = undefined;
    this.opened = [];
    this.configChange = new EventEmitter();
    this.trustGranted = new EventEmitter();
  },
  /** Set `simdlens.<key>` at a layer and fire the change event like VS Code does. */
  set(key: string, value: unknown, layer: 'global' | 'workspace' = 'global', fire = false): void {
    const full = `simdlens.${key}`;
    const entry = this.settings.get(full) ?? {};
    entry[layer] = value;
    this.settings.set(full, entry);
    if (fire) this.configChange.fire({ affectsConfiguration: (s: string) => full === s || full.startsWith(s + '.') });
  },
  grantTrust(): void {
    this.trusted = true;
    this.trustGranted.fire();
  },
};

function effective(full: string): Layered {
  const entry = mock.settings.get(full) ?? {};
  if (!mock.trusted && restricted.has(full)) return { global: entry.global };
  return entry;
}

class Configuration {
  constructor(private readonly section: string) {}
  private full(key: string): string {
    return `${this.section}.${key}`;
  }
  get<T>(key: string, fallback?: T): T | undefined {
    const full = this.full(key);
    const layers = effective(full);
    const value = layers.workspace ?? layers.global ?? properties[full]?.default;
    return (value ?? fallback) as T | undefined;
  }
  inspect<T>(key: string): { key: string; defaultValue?: T; globalValue?: T; workspaceValue?: T } {
    const full = this.full(key);
    const layers = effective(full);
    return {
      key: full,
      defaultValue: properties[full]?.default as T,
      globalValue: layers.global as T,
      workspaceValue: layers.workspace as T,
    };
  }
}

export class StatusBarItemMock {
  text = '';
  tooltip: unknown = '';
  name = '';
  command: unknown;
  backgroundColor: ThemeColor | undefined;
  visible = false;
  constructor(readonly id: string) {}
  show(): void {
    this.visible = true;
  }
  hide(): void {
    this.visible = false;
  }
  dispose(): void {
    this.visible = false;
  }
}

export const window = {
  createOutputChannel(name: string) {
    return {
      name,
      appendLine: (line: string) => mock.output.push(line),
      append: (text: string) => mock.output.push(text),
      show: () => undefined,
      dispose: () => undefined,
    };
  },
  createStatusBarItem(id: string) {
    const item = new StatusBarItemMock(id);
    mock.statusItems.push(item);
    return item;
  },
  showErrorMessage(message: string, ...items: string[]): Promise<string | undefined> {
    mock.errors.push({ message, items });
    return Promise.resolve(mock.errorChoice);
  },
  showWarningMessage(message: string, ...items: string[]): Promise<string | undefined> {
    mock.warnings.push({ message, items });
    return Promise.resolve(undefined);
  },
  get activeTextEditor() {
    return mock.activeTextEditor;
  },
  showTextDocument: async (doc: unknown) => doc,
};

export const workspace = {
  getConfiguration(section: string) {
    return new Configuration(section);
  },
  get isTrusted() {
    return mock.trusted;
  },
  get workspaceFolders() {
    return mock.workspaceFolders.length ? mock.workspaceFolders : undefined;
  },
  onDidChangeConfiguration(listener: Listener<{ affectsConfiguration(section: string): boolean }>) {
    return mock.configChange.event(listener);
  },
  onDidGrantWorkspaceTrust(listener: Listener<void>) {
    return mock.trustGranted.event(listener);
  },
  openTextDocument: async (options: unknown) => {
    mock.opened.push(options);
    return options;
  },
};

export const commands = {
  registerCommand(command: string, handler: (...args: unknown[]) => unknown) {
    // VS Code throws on a second registration of the same id; so does the mock
    if (mock.commands.has(command)) throw new Error(`command '${command}' already exists`);
    mock.commands.set(command, handler);
    return new Disposable(() => mock.commands.delete(command));
  },
  executeCommand: async (command: string, ...args: unknown[]) => {
    mock.executed.push({ command, args });
    const handler = mock.commands.get(command);
    return handler ? handler(...args) : undefined;
  },
};

export const extensions = {
  getExtension(id: string) {
    return mock.extensions.get(id);
  },
};

export const env = {
  clipboard: {
    writeText: async (text: string) => {
      mock.clipboard = text;
    },
  },
};
