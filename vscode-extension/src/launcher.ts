/**
 * Which `simdlens serve` to start: the first candidate that answers `--version`, tried in the order
 * `simdlens.server.path`, `simdlens.server.python -m simdlens`, the Python extension's interpreter,
 * `simdlens` on PATH. Everything the search touches (settings, the Python extension, PATH, running a
 * probe) comes in through `LauncherEnv`, so the order can be tested without VS Code.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type LauncherSource = 'simdlens.server.path' | 'simdlens.server.python' | 'Python extension' | 'PATH';

export interface ServerCommand {
  source: LauncherSource;
  command: string;
  /** Arguments that start the language server (ends with `serve`). */
  args: string[];
}

export interface ProbeResult {
  ok: boolean;
  /** `simdlens 0.1.0` on success, the reason otherwise (one line). */
  detail: string;
}

export interface LauncherEnv {
  serverPath: string;
  python: string;
  /** The Python extension's active interpreter, undefined when that extension is absent or has none. */
  pythonExtensionInterpreter(): Promise<string | undefined>;
  findOnPath(executable: string): string | undefined;
  /** Run the candidate with `--version` instead of `serve`. */
  probe(candidate: ServerCommand): Promise<ProbeResult>;
}

export interface Attempt {
  candidate: ServerCommand;
  result: ProbeResult;
}

export interface Selection {
  selected?: ServerCommand;
  version?: string;
  attempts: Attempt[];
  /** The one command that installs the server, tailored to the interpreter we found if any. */
  installCommand: string;
}

export const PIPX_INSTALL = 'pipx install simdlens';

export function pipInstallCommand(python: string): string {
  return `${quoteIfNeeded(python)} -m pip install simdlens`;
}

function quoteIfNeeded(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `"${word}"`;
}

export async function selectServer(env: LauncherEnv): Promise<Selection> {
  const attempts: Attempt[] = [];
  let firstPython: string | undefined;

  const candidates: Array<() => Promise<ServerCommand | undefined>> = [
    async () => (env.serverPath.trim() ? { source: 'simdlens.server.path', command: env.serverPath.trim(), args: ['serve'] } : undefined),
    async () => (env.python.trim() ? pythonCommand('simdlens.server.python', env.python.trim()) : undefined),
    async () => {
      const interpreter = await env.pythonExtensionInterpreter();
      return interpreter ? pythonCommand('Python extension', interpreter) : undefined;
    },
    async () => {
      const found = env.findOnPath('simdlens');
      return found ? { source: 'PATH', command: found, args: ['serve'] } : undefined;
    },
  ];

  for (const next of candidates) {
    const candidate = await next();
    if (!candidate) continue;
    if (candidate.args[0] === '-m' && firstPython === undefined) firstPython = candidate.command;
    const result = await env.probe(candidate);
    attempts.push({ candidate, result });
    if (result.ok) {
      return { selected: candidate, version: result.detail, attempts, installCommand: installFor(firstPython) };
    }
  }
  return { attempts, installCommand: installFor(firstPython) };
}

function pythonCommand(source: LauncherSource, python: string): ServerCommand {
  return { source, command: python, args: ['-m', 'simdlens', 'serve'] };
}

function installFor(python: string | undefined): string {
  return python ? pipInstallCommand(python) : PIPX_INSTALL;
}

export function describe(candidate: ServerCommand): string {
  return [candidate.command, ...candidate.args].map(quoteIfNeeded).join(' ');
}

/** The real PATH lookup (no shell involved). */
export function findOnPath(executable: string, envPath = process.env.PATH ?? '', platform = process.platform): string | undefined {
  const exts = platform === 'win32' ? (process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of envPath.split(path.delimiter)) {
    // a relative PATH entry would resolve inside whatever folder VS Code was started from
    if (!dir || !path.isAbsolute(dir)) continue;
    for (const ext of exts) {
      const file = path.join(dir, executable + ext.toLowerCase());
      try {
        fs.accessSync(file, fs.constants.X_OK);
        if (fs.statSync(file).isFile()) return file;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** The real probe: `<command> <args without serve> --version`, with a timeout. */
export function probeProcess(candidate: ServerCommand, timeoutMs = 20000): Promise<ProbeResult> {
  const args = [...candidate.args.slice(0, -1), '--version'];
  return new Promise((resolve) => {
    execFile(candidate.command, args, { timeout: timeoutMs, windowsHide: true }, (error, stdout, stderr) => {
      const out = `${stdout}`.trim();
      if (!error && /^simdlens\b/m.test(out)) {
        resolve({ ok: true, detail: out.split('\n')[0] });
        return;
      }
      const err = error as (NodeJS.ErrnoException & { killed?: boolean }) | null;
      let reason: string;
      if (err?.code === 'ENOENT') reason = 'not found';
      else if (err?.code === 'EACCES') reason = 'not executable';
      else if (err?.killed) reason = `no answer within ${Math.round(timeoutMs / 1000)} s`;
      else if (err) reason = lastLine(`${stderr}`) || err.message.split('\n')[0];
      else reason = `unexpected --version output: ${out.split('\n')[0] || '(nothing)'}`;
      resolve({ ok: false, detail: reason });
    });
  });
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1]?.trim() ?? '';
}
