-- simdlens for Neovim: starts `simdlens serve` for C and C++ buffers and adds buffer commands.
--
-- Neovim >= 0.11: use lsp/simdlens.lua instead (vim.lsp.enable('simdlens')); it calls on_attach() below.
-- Older Neovim (0.7 - 0.10):
--   require('simdlens').setup({ settings = { isa = 'avx2' } })   -- settings: the `simdlens` section
--
-- Buffer commands (in C/C++ buffers with the server attached):
--   :SimdlensApply    apply the best verified rewrite of the loop under the cursor, then re-verify and
--                     benchmark it as it now stands in the buffer (simdlens.applyAndBenchmark)
--   :SimdlensVerify   verify the loop under the cursor (or the whole file) now, bypassing the cache
--   :SimdlensReport   the file's report (every loop, verdict, best rewrite, speedups) in a split
local M = {}

local ACTION_KIND = 'refactor.rewrite.simdlens'
local APPLY = 'simdlens.applyAndBenchmark'
local VERIFY = 'simdlens.verifyLoop'
local REPORT = 'simdlens.showReport'

M.defaults = {
  cmd = { 'simdlens', 'serve' },
  filetypes = { 'c', 'cpp' },
  root_markers = { 'compile_commands.json', 'compile_flags.txt', '.git' },
  settings = {}, -- the `simdlens` section: isa, verifyOn, model = { baseUrl = ... }, ... (camelCase)
  codelens = true, -- show simdlens's status above each loop, refreshed as results arrive
}

M.config = vim.deepcopy(M.defaults)
local clients_by_root = {}

local function notify(message, level)
  vim.notify('simdlens: ' .. message, level or vim.log.levels.INFO)
end

-- vim.fs does not exist before 0.8: walk up by hand
local function find_root(path, markers)
  local dir = vim.fn.fnamemodify(path, ':p:h')
  while dir and dir ~= '' do
    for _, marker in ipairs(markers) do
      if vim.loop.fs_stat(dir .. '/' .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      break
    end
    dir = parent
  end
  return nil
end

-- Client methods became `client:method()` in 0.11; the dot form is deprecated there.
local method_calls = vim.fn.has('nvim-0.11') == 1

local function request(client, method, params, handler, bufnr)
  if method_calls then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

local function request_sync(client, method, params, timeout_ms, bufnr)
  if method_calls then
    return client:request_sync(method, params, timeout_ms, bufnr)
  end
  return client.request_sync(method, params, timeout_ms, bufnr)
end

local function is_stopped(client)
  if method_calls then
    return client:is_stopped()
  end
  return client.is_stopped()
end

local function client_for(bufnr)
  local clients = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = bufnr }) or vim.lsp.buf_get_clients(bufnr)
  for _, client in pairs(clients) do
    if client.name == 'simdlens' then
      return client
    end
  end
  return nil
end

-- Neovim 0.7's codelens display returns early on an empty answer, so after the last lens goes (a
-- rewrite applied) the old "… — apply" lens stayed on screen, moved onto a line of the rewrite.
function M.on_codelens(err, result, ctx, config)
  if not err and (result == nil or vim.tbl_isempty(result)) and ctx and ctx.bufnr and vim.api.nvim_buf_is_valid(ctx.bufnr) then
    local ns = vim.lsp.codelens.__namespaces[ctx.client_id] -- the one vim.lsp.codelens draws in
    vim.api.nvim_buf_clear_namespace(ctx.bufnr, ns, 0, -1)
  end
  return vim.lsp.codelens.on_codelens(err, result, ctx, config)
end

-- Ask for the buffer's lenses with M.on_codelens (vim.lsp.codelens.refresh() would use its own handler).
local function refresh_lenses(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if not vim.api.nvim_buf_is_valid(bufnr) then
    return
  end
  local params = { textDocument = { uri = vim.uri_from_bufnr(bufnr) } }
  pcall(vim.lsp.buf_request, bufnr, 'textDocument/codeLens', params, M.on_codelens)
end


local function has_command(client, command)
  local provider = client.server_capabilities and client.server_capabilities.executeCommandProvider
  return type(provider) == 'table' and vim.tbl_contains(provider.commands or {}, command)
end

-- simdlens's diagnostics on one line, back in LSP form for the code action context.
local function line_diagnostics(bufnr, row)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr, { lnum = row })) do
    if d.source == 'simdlens' then
      table.insert(out, {
        range = {
          start = { line = d.lnum, character = d.col },
          ['end'] = { line = d.end_lnum or d.lnum, character = d.end_col or d.col },
        },
        severity = d.severity,
        message = d.message,
        source = d.source,
        code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code),
      })
    end
  end
  return out
end

-- Code actions of simdlens's kind for the cursor line, best first (the server marks it preferred).
-- Returns the actions and the client, or nil and a reason.
function M.code_actions(bufnr, timeout_ms)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local client = client_for(bufnr)
  if not client then
    return nil, 'the simdlens server is not attached to this buffer'
  end
  local params = vim.lsp.util.make_range_params(0, client.offset_encoding)
  -- the whole cursor line: the loop header counts even when the cursor sits in its indentation
  local row = params.range.start.line
  params.range = { start = { line = row, character = 0 }, ['end'] = { line = row + 1, character = 0 } }
  params.context = { only = { ACTION_KIND }, diagnostics = line_diagnostics(bufnr, params.range.start.line) }
  local response, err = request_sync(client, 'textDocument/codeAction', params, timeout_ms or 5000, bufnr)
  if not response then
    return nil, 'no answer from the server: ' .. tostring(err)
  end
  if response.err then
    return nil, response.err.message or vim.inspect(response.err)
  end
  -- preferred first, otherwise in the server's order (table.sort is not stable)
  local preferred, others = {}, {}
  for _, action in ipairs(response.result or {}) do
    if action.kind == ACTION_KIND then
      table.insert(action.isPreferred and preferred or others, action)
    end
  end
  return vim.list_extend(preferred, others), client
end

-- Apply one code action's edit in the buffer (resolving it first when the server sent it lazily).
function M.apply_action(client, action, timeout_ms)
  if not action.edit then
    local provider = client.server_capabilities.codeActionProvider
    if type(provider) == 'table' and provider.resolveProvider then
      local response = request_sync(client, 'codeAction/resolve', action, timeout_ms or 5000)
      if response and response.result then
        action = response.result
      end
    end
  end
  if not action.edit then
    return false, 'the server sent no edit for "' .. action.title .. '"'
  end
  vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
  return true, action.title
end

local function apply_and_benchmark(bufnr)
  local actions, client = M.code_actions(bufnr)
  if not actions then
    return notify(client, vim.log.levels.WARN)
  end
  if #actions == 0 then
    return notify('no verified rewrite for the loop under the cursor (yet)', vim.log.levels.WARN)
  end
  local best = actions[1]
  local data = best.data or {}
  if not (has_command(client, APPLY) and data.uri and data.loopId and data.candidate) then
    local ok, message = M.apply_action(client, best)
    return notify(message, ok and vim.log.levels.INFO or vim.log.levels.WARN)
  end
  notify('applying: ' .. best.title .. ' (then verifying and benchmarking it again)')
  -- the server applies the edit through workspace/applyEdit, re-measures, and reports back
  request(client, 'workspace/executeCommand', {
    command = APPLY,
    arguments = { data.uri, data.loopId, data.candidate, data.version },
  }, function(err, result)
    if err then
      notify('apply and benchmark failed: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    elseif result and result.message then
      notify(result.message)
    end
    if M.config.codelens then
      refresh_lenses(bufnr)
    end
  end, bufnr)
end

-- The loop id under the cursor, from the code lens on that line (lenses carry uri, loopId).
local function loop_id_at_cursor(bufnr)
  local row = vim.api.nvim_win_get_cursor(0)[1] - 1
  for _, lens in ipairs(vim.lsp.codelens.get(bufnr) or {}) do
    local args = lens.command and lens.command.arguments
    if lens.range.start.line == row and type(args) == 'table' and type(args[2]) == 'string' then
      return args[2]
    end
  end
  return nil
end

local function verify(bufnr, whole_file)
  local client = client_for(bufnr)
  if not client then
    return notify('the simdlens server is not attached to this buffer', vim.log.levels.WARN)
  end
  local loop_id = not whole_file and loop_id_at_cursor(bufnr) or nil
  request(client, 'workspace/executeCommand', {
    command = VERIFY,
    arguments = { vim.uri_from_bufnr(bufnr), loop_id },
  }, function(err, result)
    if err then
      notify('verify failed: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    elseif result and not result.reason then
      notify(('verifying %d loop(s)'):format(result.queued or 0))
    end -- when nothing is queued the server says why (window/showMessage)
  end, bufnr)
end

-- Returns the report's markdown (and shows it in a split unless `quiet`).
function M.report(bufnr, quiet, timeout_ms)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local client = client_for(bufnr)
  if not client then
    notify('the simdlens server is not attached to this buffer', vim.log.levels.WARN)
    return nil
  end
  local response = request_sync(client, 'workspace/executeCommand', {
    command = REPORT,
    arguments = { vim.uri_from_bufnr(bufnr) },
  }, timeout_ms or 10000, bufnr)
  local markdown = response and response.result and response.result.markdown
  if type(markdown) ~= 'string' or markdown == '' then
    notify('no report: ' .. vim.inspect(response and (response.err or response.result)), vim.log.levels.WARN)
    return nil
  end
  if not quiet then
    vim.cmd('botright new')
    local report = vim.api.nvim_get_current_buf()
    vim.api.nvim_buf_set_lines(report, 0, -1, false, vim.split(markdown, '\n', { plain = true }))
    vim.bo[report].buftype = 'nofile'
    vim.bo[report].bufhidden = 'wipe'
    vim.bo[report].filetype = 'markdown'
    vim.bo[report].modifiable = false
  end
  return markdown
end

-- Buffer commands and the code lens refresh; used by setup() and by lsp/simdlens.lua.
function M.on_attach(client, bufnr)
  vim.api.nvim_buf_create_user_command(bufnr, 'SimdlensApply', function()
    apply_and_benchmark(bufnr)
  end, { desc = 'simdlens: apply the best verified rewrite here, then benchmark it' })
  vim.api.nvim_buf_create_user_command(bufnr, 'SimdlensVerify', function(opts)
    verify(bufnr, opts.bang)
  end, { bang = true, desc = 'simdlens: verify this loop now (! = the whole file), bypassing the cache' })
  vim.api.nvim_buf_create_user_command(bufnr, 'SimdlensReport', function()
    M.report(bufnr)
  end, { desc = "simdlens: this file's report" })
  if M.config.codelens and client.server_capabilities.codeLensProvider then
    local group = vim.api.nvim_create_augroup('simdlens_codelens_' .. bufnr, { clear = true })
    vim.api.nvim_create_autocmd({ 'BufEnter', 'InsertLeave', 'BufWritePost', 'CursorHold' }, {
      group = group,
      buffer = bufnr,
      callback = function()
        refresh_lenses(bufnr)
      end,
    })
    refresh_lenses(bufnr)
  end
end

-- Neovim 0.7 - 0.11 have no handler for the server's `workspace/codeLens/refresh` request (the lens
-- kept "verifying AVX2…" after the diagnostic was final, until the cursor rested): refresh the lenses
-- of every buffer the server is attached to.
function M.on_codelens_refresh(_, _, ctx)
  if M.config.codelens then
    vim.schedule(function()
      local client = ctx and vim.lsp.get_client_by_id(ctx.client_id)
      local buffers = client and client.attached_buffers or {}
      if next(buffers) == nil then
        refresh_lenses(0)
      end
      for bufnr in pairs(buffers) do
        refresh_lenses(bufnr)
      end
    end)
  end
  return vim.NIL
end

function M.capabilities()
  local capabilities = vim.lsp.protocol.make_client_capabilities()
  capabilities.workspace = capabilities.workspace or {}
  capabilities.workspace.codeLens = { refreshSupport = true }
  -- :SimdlensReport shows the report in a split; Neovim >= 0.10's window/showDocument would also open
  -- it in the current window, in place of the C buffer
  capabilities.window = capabilities.window or {}
  capabilities.window.showDocument = { support = false }
  return capabilities
end

-- The `simdlens` section as JSON objects: an empty Lua table would be encoded as `[]`, which the
-- server rightly refuses as "not an object".
function M.section(settings)
  local out = vim.deepcopy(settings or {})
  for _, key in ipairs({ 'model', 'sandbox', 'bench' }) do
    if type(out[key]) == 'table' and vim.tbl_isempty(out[key]) then
      out[key] = vim.empty_dict()
    end
  end
  return vim.tbl_isempty(out) and vim.empty_dict() or out
end

function M.client_config(root_dir)
  local section = M.section(M.config.settings)
  return {
    name = 'simdlens',
    cmd = M.config.cmd,
    root_dir = root_dir,
    init_options = { simdlens = section },
    settings = { simdlens = section }, -- answers workspace/configuration
    capabilities = M.capabilities(),
    handlers = {
      ['workspace/codeLens/refresh'] = M.on_codelens_refresh,
    },
    on_attach = M.on_attach,
  }
end

-- Start (or reuse) the client for this buffer's project and attach it.
function M.start(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' or vim.bo[bufnr].buftype ~= '' then
    return nil
  end
  local root = find_root(name, M.config.root_markers) or vim.fn.fnamemodify(name, ':p:h')
  local id = clients_by_root[root]
  local client = id and vim.lsp.get_client_by_id(id)
  if not client or is_stopped(client) then
    if vim.fn.executable(M.config.cmd[1]) ~= 1 then
      notify(('cannot start the server: %q is not executable. Install it with: pipx install simdlens'):format(M.config.cmd[1]),
        vim.log.levels.ERROR)
      return nil
    end
    id = vim.lsp.start_client(M.client_config(root))
    if not id then
      return nil
    end
    clients_by_root[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  local group = vim.api.nvim_create_augroup('simdlens', { clear = true })
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = M.config.filetypes,
    callback = function(args)
      M.start(args.buf)
    end,
  })
  -- buffers already open when setup() runs
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(M.config.filetypes, vim.bo[bufnr].filetype) then
      M.start(bufnr)
    end
  end
end

return M
