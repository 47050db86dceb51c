/**
 * The `simdlens` configuration section as the server reads it (`Settings.from_mapping`): camelCase keys,
 * nested objects for model / sandbox / bench, only the values the user actually set (so the server's
 * own defaults and SIMDLENS_* environment variables still apply), and `trusted` forced to false in an
 * untrusted workspace. Extension-only settings (`server.*`, `trace.*`) are not sent.
 */
import manifest from '../package.json';

export const SECTION = 'simdlens';

/** Settings that only the extension reads: how to launch the server, and the client's LSP trace. */
const EXTENSION_ONLY = ['server.', 'trace.'];

/** Every contributed setting the server understands, relative to the section (e.g. `model.baseUrl`). */
export const SERVER_SETTING_KEYS: readonly string[] = Object.keys(manifest.contributes.configuration.properties)
  .map((key) => key.slice(SECTION.length + 1))
  .filter((key) => !EXTENSION_ONLY.some((prefix) => key.startsWith(prefix)));

/** The part of `vscode.WorkspaceConfiguration` used here. */
export interface ConfigurationReader {
  get<T>(key: string): T | undefined;
  inspect<T>(key: string):
    | {
        globalValue?: T;
        workspaceValue?: T;
        workspaceFolderValue?: T;
        globalLanguageValue?: T;
        workspaceLanguageValue?: T;
        workspaceFolderLanguageValue?: T;
      }
    | undefined;
}

export type SettingsObject = { [key: string]: unknown };

function isSetByUser(config: ConfigurationReader, key: string): boolean {
  const seen = config.inspect(key);
  if (!seen) return false;
  return [
    seen.globalValue,
    seen.workspaceValue,
    seen.workspaceFolderValue,
    seen.globalLanguageValue,
    seen.workspaceLanguageValue,
    seen.workspaceFolderLanguageValue,
  ].some((v) => v !== undefined);
}

export function serverSettings(config: ConfigurationReader, workspaceTrusted: boolean): SettingsObject {
  const out: SettingsObject = {};
  for (const key of SERVER_SETTING_KEYS) {
    if (!isSetByUser(config, key)) continue;
    setPath(out, key.split('.'), config.get(key));
  }
  if (!workspaceTrusted) out.trusted = false;
  return out;
}

/** The value for a `workspace/configuration` item's section (`simdlens` or `simdlens.model`, …). */
export function sectionValue(settings: SettingsObject, section: string): unknown {
  if (section === SECTION) return settings;
  let node: unknown = settings;
  for (const part of section.slice(SECTION.length + 1).split('.')) {
    node = node && typeof node === 'object' ? (node as SettingsObject)[part] : undefined;
  }
  return node ?? null;
}

export function isOwnSection(section: string | undefined): section is string {
  return section === SECTION || (section?.startsWith(SECTION + '.') ?? false);
}

function setPath(target: SettingsObject, parts: string[], value: unknown): void {
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as SettingsObject;
  }
  node[parts[parts.length - 1]] = value;
}
