// The simdlens extension in a real VS Code: code-server (VS Code in the browser) driven by headless
// Chromium through playwright-core. Opens a C file with an early-exit search loop and does what a user
// does: waits for the diagnostic, reads the hover, opens the code-action menu (Ctrl+.), applies the
// AVX-512 rewrite (AVX2 on a CPU without AVX-512: simdlens verifies only what the CPU runs), saves,
// runs Verify Loop and Show Report; then builds the saved file with gcc with and without -mavx2 /
// -mavx512f and runs the builds the CPU can run against the original loop. Every step that does not happen within its time limit fails the run
// (exit 1) with the step's name; screenshots go to --screenshots (default tests/vscode/out; the ones in
// docs/img come from `tests/vscode/run.sh --screenshots docs/img`).
//
//   node e2e.mjs --server /path/to/.venv/bin/simdlens --vsix ../../vscode-extension/simdlens.vsix
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const { values: opts } = parseArgs({
  options: {
    server: { type: 'string', default: path.join(repo, '.venv/bin/simdlens') },
    vsix: { type: 'string', default: path.join(repo, 'vscode-extension/simdlens.vsix') },
    chromium: { type: 'string', default: process.env.CHROMIUM ?? '/usr/bin/chromium' },
    screenshots: { type: 'string', default: process.env.SCREENSHOTS ?? path.join(here, 'out') },
    keep: { type: 'boolean', default: false },
  },
});
const codeServer = path.join(here, 'node_modules/.bin/code-server');

const SEARCH_C = `#include <stddef.h>

/* index of the first element equal to key, or -1 */
int find_first(const int *a, int n, int key) {
    int i;
    for (i = 0; i < n; i++)
        if (a[i] == key) return i;
    return -1;
}
`;
const MAIN_C = `#include <stdio.h>
int find_first(const int *a, int n, int key);
int main(void) {
    static int a[100003];
    for (int i = 0; i < 100003; i++) a[i] = i * 7 % 1000003;
    long sum = 0;
    for (int k = 0; k < 2000; k++) sum += find_first(a, 100003 - k % 37, (k * 7919) % 700021);
    printf("%ld %d %d\\n", sum, find_first(a, 100003, -5), find_first(a, 17, 7 * 16));
    return 0;
}
`;

// The rewrite to apply: AVX-512 where this CPU runs it (the server verifies only what the CPU runs).
const cpuFlags = fs.readFileSync('/proc/cpuinfo', 'utf8');
const HAS_AVX512 = /\bavx512f\b/.test(cpuFlags) && /\bavx512bw\b/.test(cpuFlags);
const ISA = HAS_AVX512 ? 'AVX-512' : 'AVX2';
const INTRINSIC = HAS_AVX512 ? '_mm512_' : '_mm256_';

const started = Date.now();
const say = (line) => console.log(`[vscode-e2e ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);

class StepFailed extends Error {}

/** Polls `probe` until it returns something truthy; fails the run naming `what` otherwise. */
async function waitFor(what, probe, timeoutMs, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new StepFailed(`${what}: nothing within ${timeoutMs / 1000} s (last: ${last})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Monaco draws spaces as U+00A0. */
const plain = (text) => (text ?? '').replace(/\u00a0/g, ' ');

async function main() {
  for (const [what, file] of [['simdlens server', opts.server], ['VSIX', opts.vsix], ['chromium', opts.chromium], ['code-server', codeServer]]) {
    if (!fs.existsSync(file)) throw new StepFailed(`${what} not found: ${file}`);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'simdlens-vscode-e2e-'));
  const userData = path.join(tmp, 'user-data');
  const extensions = path.join(tmp, 'extensions');
  const workspace = path.join(tmp, 'workspace');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.mkdirSync(workspace, { recursive: true });
  fs.mkdirSync(opts.screenshots, { recursive: true });
  const source = path.join(workspace, 'search.c');
  fs.writeFileSync(source, SEARCH_C);
  fs.writeFileSync(
    path.join(userData, 'User/settings.json'),
    JSON.stringify(
      {
        'simdlens.server.path': opts.server,
        'simdlens.cacheDir': path.join(tmp, 'cache'),
        'simdlens.bench.processes': 3,
        'simdlens.trace.server': 'messages',
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'workbench.enableExperiments': false,
        'security.workspace.trust.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'extensions.ignoreRecommendations': true,
        'editor.hover.delay': 150,
        'editor.minimap.enabled': false,
        'files.autoSave': 'off',
        'window.commandCenter': false,
        'chat.commandCenter.enabled': false,
      },
      null,
      2,
    ),
  );
  say(`temp dir ${tmp}`);

  fs.writeFileSync(path.join(tmp, 'config.yaml'), 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n');
  const common = ['--config', path.join(tmp, 'config.yaml'), '--user-data-dir', userData, '--extensions-dir', extensions];
  say('installing the VSIX');
  execFileSync(codeServer, [...common, '--install-extension', opts.vsix], { stdio: 'inherit' });

  const port = await freePort();
  const serverLog = fs.openSync(path.join(tmp, 'code-server.log'), 'w');
  const cs = spawn(
    codeServer,
    [
      ...common,
      '--bind-addr', `127.0.0.1:${port}`,
      '--auth', 'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      workspace,
    ],
    { stdio: ['ignore', serverLog, serverLog], detached: true },
  );
  const stopCodeServer = () => {
    try {
      process.kill(-cs.pid, 'SIGTERM'); // its process group: the extension host and simdlens serve too
    } catch {
      // already gone
    }
  };
  process.on('exit', stopCodeServer);
  let browser;
  let passed = false;
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor('code-server to answer /healthz', async () => (await fetch(`${base}/healthz`)).ok, 60000, 500);
    say(`code-server on ${base}`);

    browser = await chromium.launch({
      executablePath: opts.chromium,
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
    page.setDefaultTimeout(30000);
    await page.goto(`${base}/?folder=${encodeURIComponent(workspace)}`);
    await waitFor('the workbench', () => page.locator('.monaco-workbench').isVisible(), 90000);
    say('workbench loaded');

    // Everything the status item says while the test runs (items 1 and 2 of issue 18).
    const statusTexts = new Set();
    const statusItem = page.locator('.statusbar-item', { hasText: 'simdlens' }).first();
    const watchStatus = setInterval(async () => {
      try {
        const text = plain(await statusItem.innerText({ timeout: 500 })).trim();
        if (text) statusTexts.add(text);
      } catch {
        // not shown yet
      }
    }, 200);

    // open search.c from the explorer, as a user does
    const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'search.c' }).first();
    await waitFor('search.c in the explorer', () => row.isVisible(), 60000);
    await row.click();
    const lines = page.locator('.monaco-editor .view-lines').first();
    await waitFor('search.c in an editor', async () => plain(await lines.innerText()).includes('a[i] == key'), 30000);
    say('search.c open');

    // the verified-rewrite diagnostic (SL102, Information: a blue squiggle under the loop header)
    const squiggle = page.locator('.monaco-editor .squiggly-info').first();
    await waitFor('the SL102 diagnostic (verified rewrite) on the loop', () => squiggle.isVisible(), 300000, 500);
    say('diagnostic shown');
    const during = [...statusTexts];
    // how long the lens still says "verifying…" once the diagnostic is final (VS Code asks for lenses
    // again a debounce after the server's workspace/codeLens/refresh)
    const lensTexts = async () => (await page.locator('.monaco-editor .codelens-decoration').allInnerTexts()).map(plain);
    const diagnosticAt = Date.now();
    let lensesThen = await lensTexts();
    while (lensesThen.some((t) => /verifying/.test(t)) && Date.now() - diagnosticAt < 5000) {
      await page.waitForTimeout(50);
      lensesThen = await lensTexts();
    }
    const lensLagMs = Date.now() - diagnosticAt;
    say(`lens ${lensLagMs} ms after the diagnostic: ${lensesThen.join(' | ')}`);

    // the hover: diagnostic + simdlens's summary
    const hover = page.locator('.monaco-hover').filter({ hasText: 'simdlens' }).first();
    const hoverText = await waitFor(
      'the hover on the loop header',
      async () => {
        await squiggle.hover({ force: true });
        await page.waitForTimeout(600);
        const text = plain(await hover.innerText({ timeout: 1500 }));
        // complete once VS Code has asked for the diagnostic's quick fixes ("Quick Fix…" or "No quick fixes")
        const settled = /Quick Fix|No quick fixes/i.test(text) && !/Loading/.test(text);
        return /verified (AVX2|AVX-512) rewrite/.test(text) && /simdlens:/.test(text) && settled && text;
      },
      60000,
    );
    say(`hover:\n${hoverText}`);
    await page.screenshot({ path: path.join(opts.screenshots, 'vscode-hover.png') });
    const hoverChecks = [
      ['names the verified rewrite', /verified (AVX2|AVX-512) rewrite/.test(hoverText)],
      ['offers a quick fix (not "No quick fixes available")', /Quick Fix/i.test(hoverText) && !/No quick fixes/i.test(hoverText)],
      ['markdown is escaped (no bold AVX512F)', !/AVX512F/.test(hoverText) || /__AVX512F__/.test(hoverText)],
      ['quotes every measured size', /4K/.test(hoverText) && /1M/.test(hoverText)],
      ['is short (no code preview)', !/_mm512_/.test(hoverText) && hoverText.split('\n').length <= 30],
    ];

    // the code-action menu (Ctrl+.) on the loop header (the mouse moved away: no hover over the menu)
    await squiggle.click({ force: true });
    await page.mouse.move(1000, 650);
    await page.keyboard.press('Escape');
    await page.waitForTimeout(500);
    await page.keyboard.press('Control+.');
    const menu = page.locator('.action-widget').first();
    const menuText = await waitFor('the code-action menu', async () => (await menu.isVisible()) && plain(await menu.innerText()), 30000);
    say(`code actions:\n${menuText}`);
    await page.screenshot({ path: path.join(opts.screenshots, 'vscode-code-actions.png') });
    const wanted = menu.locator('.monaco-list-row', { hasText: `Vectorize with ${ISA} ` }).first();
    if (!(await wanted.isVisible())) throw new StepFailed(`no "Vectorize with ${ISA}" action in the menu:\n${menuText}`);
    await wanted.hover({ force: true }); // the action widget selects the row under the mouse
    await page.keyboard.press('Enter');
    await waitFor(`the ${ISA} rewrite in the editor`, async () => plain(await lines.innerText()).includes(INTRINSIC), 30000);
    say('rewrite applied in the editor');

    // save (Ctrl+S) and wait for the file on disk
    await page.locator('.monaco-editor textarea').first().focus();
    await page.keyboard.press('Control+S');
    const saved = await waitFor('the saved file with the rewrite', () => {
      const text = fs.readFileSync(source, 'utf8');
      return text.includes(INTRINSIC) && text;
    }, 30000);
    say('saved');

    await page.mouse.move(1000, 650);
    await page.waitForTimeout(1000);
    await page.screenshot({ path: path.join(opts.screenshots, 'vscode-applied.png') });
    const lensesAfter = await lensTexts();

    // Verify Loop on the rewritten file says why nothing is verified; Show Report names the applied result
    await runCommand(page, 'simdlens: Verify Loop');
    const verifyMessage = await waitFor(
      'a message from Verify Loop',
      async () => (await page.locator('.notifications-toasts .notification-toast', { hasText: 'simdlens' }).allInnerTexts()).map(plain).find((t) => /nothing to verify|not verifying|queued/.test(t)),
      30000,
    ).catch((error) => `(${error.message})`);
    say(`verify loop: ${verifyMessage}`);
    await runCommand(page, 'simdlens: Show Report for This File');
    const report = await waitFor(
      'the report',
      async () => {
        const all = (await page.locator('.monaco-editor .view-lines').allInnerTexts()).map(plain);
        return all.find((t) => t.includes('simdlens report'));
      },
      30000,
    );
    say(`report (visible part):\n${report}`);

    clearInterval(watchStatus);
    const statusAll = [...statusTexts];
    say(`status item said: ${statusAll.join(' | ')}`);

    // the saved file builds with and without the ISA flags, and both builds agree
    const build = path.join(tmp, 'build');
    fs.mkdirSync(build);
    fs.writeFileSync(path.join(build, 'main.c'), MAIN_C);
    const outputs = {};
    const isaFlags = ['-mavx2', '-mavx512f', '-mavx512vl', '-mavx512bw', '-mavx512dq'];
    const builds = [['plain', ['-O2'], true], ['avx2', ['-O2', '-mavx2'], true], ['avx512', ['-O2', ...isaFlags], HAS_AVX512]];
    for (const [name, flags, runs] of builds) {
      const exe = path.join(build, name);
      execFileSync('gcc', [...flags, '-o', exe, source, path.join(build, 'main.c')], { stdio: 'inherit' });
      outputs[name] = runs ? execFileSync(exe, { encoding: 'utf8' }).trim() : '(built; this CPU cannot run it)';
      say(`gcc ${flags.join(' ')}: builds; prints ${outputs[name]}`);
    }
    const original = path.join(build, 'original.c');
    fs.writeFileSync(original, SEARCH_C);
    execFileSync('gcc', ['-O2', '-o', path.join(build, 'original'), original, path.join(build, 'main.c')]);
    outputs.original = execFileSync(path.join(build, 'original'), { encoding: 'utf8' }).trim();
    const ran = builds.filter(([, , runs]) => runs).map(([name]) => name);

    // the extension's output channel, as VS Code wrote it to its log dir: each server line once
    const outputLogs = [];
    const walk = (dir) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (/simdlens\.log$/.test(entry.name)) outputLogs.push(full);
      }
    };
    walk(path.join(userData, 'logs'));
    const output = outputLogs.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
    const analysedLines = output.split('\n').filter((l) => /analysed search\.c v1:/.test(l));
    say(`output channel: ${analysedLines.length} "analysed search.c v1" line(s)`);

    const checks = [
      ...hoverChecks.map(([what, ok]) => [`hover ${what}`, ok]),
      [`code-action menu offers the ${ISA} rewrite as a quick fix`, /Quick Fix/.test(menuText) && menuText.includes(`Vectorize with ${ISA}`)],
      ['action titles quote every measured size', /at 4K/.test(menuText) && /at 1M/.test(menuText)],
      [`saved file holds ${INTRINSIC}* intrinsics`, new RegExp(`${INTRINSIC}\\w+`).test(saved)],
      [`the lens caught up with the final diagnostic within 1.5 s (${lensLagMs} ms)`, lensLagMs < 1500 && !lensesThen.some((t) => /verifying/.test(t))],
      ['no lens offers the rewritten loop again', !lensesAfter.some((t) => /— apply|verifying/.test(t))],
      ['Verify Loop on the rewritten file says why nothing is verified', /nothing to verify/.test(verifyMessage)],
      ['report names the applied rewrite', new RegExp(`applied ${ISA}`).test(report)],
      ['the output channel shows each server log line once', analysedLines.length === 1],
      ['status item never said "verifying 0 loops"', !statusAll.some((t) => /verifying 0 loops/.test(t))],
      ['status item shows the resolved ISA (not "auto")', statusAll.some((t) => /simdlens (AVX2|AVX-512)/.test(t))],
      ['status item counted the loop being verified', during.some((t) => /verifying [1-9]\d* loop/.test(t))],
      [`builds (-O2, -mavx2, -mavx512f) agree with the original (ran: ${ran.join(', ')})`, ran.every((name) => outputs[name] === outputs.original)],
    ];
    let failed = 0;
    for (const [what, ok] of checks) {
      console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
      if (!ok) failed++;
    }
    if (failed) throw new StepFailed(`${failed} of ${checks.length} checks failed`);
    say(`all ${checks.length} checks passed`);
    passed = true;
  } catch (error) {
    if (browser) {
      const page = browser.contexts()[0]?.pages()[0];
      if (page) await page.screenshot({ path: path.join(tmp, 'failure.png') }).catch(() => undefined);
      say(`failure screenshot: ${path.join(tmp, 'failure.png')}`);
    }
    say(`code-server log: ${path.join(tmp, 'code-server.log')}`);
    throw error;
  } finally {
    await browser?.close().catch(() => undefined);
    stopCodeServer();
    // keep the logs of a failed run; drop a passing one
    if (passed && !opts.keep) fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
  }
}

async function runCommand(page, title) {
  await page.keyboard.press('Control+Shift+P');
  const input = page.locator('.quick-input-widget input').first();
  await waitFor('the command palette', () => input.isVisible(), 15000);
  await input.fill(`>${title}`);
  await waitFor(`"${title}" in the palette`, () => page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().isVisible(), 15000);
  await page.keyboard.press('Enter');
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`vscode e2e FAILED: ${error instanceof StepFailed ? error.message : error.stack}`);
    process.exitCode = 1;
    process.exit(1);
  },
);
