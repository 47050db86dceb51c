/**
 * The status bar item: server state, background verification progress, the active ISA, and limited
 * mode in untrusted workspaces. `render` is a pure function of `StatusState`, so tests check the text.
 */

export type ServerState = 'starting' | 'running' | 'stopped' | 'not-installed' | 'failed';

export interface Progress {
  title: string;
  message?: string;
  percentage?: number;
}

export interface StatusState {
  server: ServerState;
  trusted: boolean;
  /** The ISA the server targets (as it reported it), else the `simdlens.isa` setting. */
  isa: string;
  /** Running background work, by progress token. */
  progress: Map<string, Progress>;
  detail?: string;
}

export interface Rendered {
  text: string;
  tooltip: string;
  warning: boolean;
}

const ISA_LABEL: Record<string, string> = { avx2: 'AVX2', avx512: 'AVX-512', sse4: 'SSE4', auto: 'auto' };

export function isaLabel(isa: string): string {
  return isa
    .split('+')
    .map((one) => ISA_LABEL[one] ?? one.toUpperCase())
    .join(' + ');
}

export function render(state: StatusState): Rendered {
  const isa = isaLabel(state.isa);
  const limited = state.trusted ? '' : ' (limited: untrusted workspace)';
  const limitedTip = state.trusted
    ? ''
    : '\nRestricted mode: this workspace is not trusted, so simdlens analyses only — nothing is compiled or run. Trust the workspace to verify and benchmark rewrites.';
  switch (state.server) {
    case 'starting':
      return { text: '$(loading~spin) simdlens', tooltip: 'simdlens: starting the language server', warning: false };
    case 'not-installed':
      return {
        text: '$(warning) simdlens: not installed',
        tooltip: `simdlens: the language server was not found.${state.detail ? '\n' + state.detail : ''}`,
        warning: true,
      };
    case 'failed':
    case 'stopped':
      return {
        text: `$(error) simdlens: ${state.server}`,
        tooltip: `simdlens: the language server ${state.server === 'failed' ? 'failed' : 'stopped'}.${state.detail ? '\n' + state.detail : ''}\nClick to show the log.`,
        warning: true,
      };
    case 'running':
      break;
  }
  const jobs = [...state.progress.values()];
  if (jobs.length > 0) {
    const job = jobs[jobs.length - 1];
    const what = describeJob(job);
    const pct = job.percentage !== undefined ? ` ${Math.round(job.percentage)}%` : '';
    const more = jobs.length > 1 ? ` (+${jobs.length - 1})` : '';
    return {
      text: `$(sync~spin) simdlens ${isa}: ${what}${pct}${more}${limited}`,
      tooltip: `simdlens: background verification running\n${jobs.map(describeJob).join('\n')}${limitedTip}`,
      warning: false,
    };
  }
  return {
    text: state.trusted ? `$(pulse) simdlens ${isa}` : `$(shield) simdlens ${isa}${limited}`,
    tooltip: `simdlens: target ISA ${isa}${state.detail ? '\n' + state.detail : ''}${limitedTip}\nClick to show the log.`,
    warning: !state.trusted,
  };
}

/** "verifying 3 loops"; the server's bar is titled "simdlens", which the status item already says. */
function describeJob(job: Progress): string {
  return [job.title.toLowerCase() === 'simdlens' ? '' : job.title, job.message].filter(Boolean).join(': ') || 'working';
}
