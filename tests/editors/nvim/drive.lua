-- Drives the headless Neovim test like a user: wait for simdlens's diagnostics, wait for a verified
-- rewrite (SL102), request code actions on that loop, apply the best one, save. Every step's outcome
-- goes to the JSON file $SIMDLENS_NVIM_RESULT; Neovim always quits, each wait has a timeout.
local out_path = vim.env.SIMDLENS_NVIM_RESULT
local verify_timeout = tonumber(vim.env.SIMDLENS_VERIFY_TIMEOUT_MS or '90000')
local result = { steps = {}, ms = {} }
local t0 = vim.loop.hrtime()

local function step(name, value)
  table.insert(result.steps, name)
  result.ms[name] = math.floor((vim.loop.hrtime() - t0) / 1e6) -- figures for the log, never asserted
  if value ~= nil then
    result[name] = value
  end
end

local function diagnostics(bufnr)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    if d.source == 'simdlens' then
      table.insert(out, { line = d.lnum, code = d.code, message = d.message })
    end
  end
  return out
end

local function first_with_code(bufnr, code)
  for _, d in ipairs(diagnostics(bufnr)) do
    if d.code == code then
      return d
    end
  end
  return nil
end

local ok, err = pcall(function()
  local simdlens = require('simdlens')
  local bufnr = vim.api.nvim_get_current_buf()
  local function clients()
    return vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = bufnr }) or vim.lsp.buf_get_clients(bufnr)
  end
  local attached = vim.wait(20000, function()
    return next(clients()) ~= nil
  end, 50)
  if not attached then
    error('the simdlens client never attached')
  end
  local client = clients()[next(clients())]
  step('attached', { name = client.name, encoding = client.offset_encoding })
  vim.wait(10000, function()
    return vim.api.nvim_buf_get_commands(bufnr, {}).SimdlensApply ~= nil
  end, 50)
  local commands = vim.tbl_keys(vim.api.nvim_buf_get_commands(bufnr, {}))
  table.sort(commands)
  local lens_autocmds = #vim.api.nvim_get_autocmds({ group = 'simdlens_codelens_' .. bufnr, buffer = bufnr })
  step('buffer_commands', { commands = commands, codelens_autocmds = lens_autocmds })

  if not vim.wait(20000, function() return #diagnostics(bufnr) > 0 end, 50) then
    error('no simdlens diagnostics within 20 s')
  end
  step('first_diagnostics', diagnostics(bufnr))

  -- SL101 stays "pending" until its verification ends; stop early when every loop is settled
  local function settled(d)
    return d.code ~= 'SL101' or d.message:find('no rewrite passed', 1, true) or d.message:find('not verified', 1, true)
  end
  local verified
  vim.wait(verify_timeout, function()
    verified = first_with_code(bufnr, 'SL102')
    return verified ~= nil or vim.tbl_isempty(vim.tbl_filter(function(d) return not settled(d) end, diagnostics(bufnr)))
  end, 200)
  step('diagnostics_before', diagnostics(bufnr))
  if not verified then
    error(('no verified rewrite (SL102) within %d ms'):format(verify_timeout))
  end
  step('verified', verified)

  -- the lens follows within moments (the server's workspace/codeLens/refresh; no cursor moves here)
  local function lens_title()
    for _, lens in ipairs(vim.lsp.codelens.get(bufnr) or {}) do
      if lens.range.start.line == verified.line and lens.command then
        return lens.command.title
      end
    end
    return ''
  end
  local lens_t0 = vim.loop.hrtime()
  vim.wait(3000, function() return lens_title() ~= '' and not lens_title():find('verifying', 1, true) end, 20)
  step('lens_after_verified', { title = lens_title(), ms = math.floor((vim.loop.hrtime() - lens_t0) / 1e6) })

  -- the hover on the loop header, as Neovim's K shows it (markdown lines in a float)
  local hover_params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = { line = verified.line, character = 6 },
  }
  local hovers = vim.lsp.buf_request_sync(bufnr, 'textDocument/hover', hover_params, 10000) or {}
  local hover
  for _, response in pairs(hovers) do
    if response.result and response.result.contents then
      hover = response.result.contents
    end
  end
  if not hover then
    error('no hover on the verified loop')
  end
  local shown = vim.lsp.util.trim_empty_lines(vim.lsp.util.convert_input_to_markdown_lines(hover))
  step('hover', { kind = hover.kind, lines = shown })

  vim.api.nvim_win_set_cursor(0, { verified.line + 1, 0 })
  local actions, client_or_reason = simdlens.code_actions(bufnr, 10000)
  if not actions then
    error('code actions: ' .. tostring(client_or_reason))
  end
  local titles = {}
  for _, a in ipairs(actions) do
    table.insert(titles, { title = a.title, preferred = a.isPreferred or false, has_edit = a.edit ~= nil })
  end
  step('actions', titles)
  if #actions == 0 then
    error('no simdlens code action on the verified loop')
  end
  local applied, message = simdlens.apply_action(client_or_reason, actions[1], 10000)
  if not applied then
    error(message)
  end
  step('applied', message)
  vim.cmd('silent write')
  step('buffer', table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n'))

  -- the server sees the edit: the rewritten loop is analysed again without errors
  local before = vim.inspect(result.diagnostics_before)
  vim.wait(10000, function() return vim.inspect(diagnostics(bufnr)) ~= before end, 100)
  step('diagnostics_after', diagnostics(bufnr))
  step('report', simdlens.report(bufnr, true, 10000) or '')

  -- :SimdlensVerify! re-queues the whole file, bypassing the cache; the answer arrives as a notification
  local notes = {}
  local notify = vim.notify
  vim.notify = function(message) table.insert(notes, message) end
  if vim.api.nvim_get_current_buf() ~= bufnr then
    error('the C buffer is no longer the current one (the report replaced it?)')
  end
  vim.cmd('SimdlensVerify!')
  vim.wait(10000, function() return #notes > 0 end, 50)
  vim.notify = notify
  step('verify_command', notes)
end)

if not ok then
  result.error = tostring(err)
end
local file = io.open(out_path, 'w')
file:write(vim.fn.json_encode(result))
file:close()
vim.cmd('qa!')
