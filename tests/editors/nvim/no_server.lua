-- Headless check of the plugin without a working server: a missing executable gives one error with
-- the install command and no client; lsp/simdlens.lua (Neovim >= 0.11) is a well-formed config table.
-- Run with: nvim --headless -u NONE -i NONE -c "luafile no_server.lua" (env as in test_neovim.py).
local result = { notes = {} }
local ok, err = pcall(function()
  vim.opt.runtimepath:prepend(vim.env.SIMDLENS_NVIM_PLUGIN)
  vim.cmd('filetype on')
  vim.notify = function(message, level)
    table.insert(result.notes, { message = message, level = level })
  end
  require('simdlens').setup({ cmd = { '/nonexistent/bin/simdlens', 'serve' } })
  vim.cmd('edit ' .. vim.fn.fnameescape(vim.env.SIMDLENS_C_FILE))
  vim.wait(500, function() return false end, 50)
  result.filetype = vim.bo.filetype
  local simdlens = require('simdlens')
  local default = simdlens.client_config('/tmp')
  result.default_json = vim.json.encode({ init = default.init_options, settings = default.settings })
  simdlens.config.settings = { isa = 'avx2', model = {}, bench = { sizes = { 4096 } } }
  result.custom_json = vim.json.encode(simdlens.client_config('/tmp').settings)
  result.clients = #vim.lsp.get_active_clients()
  local config = dofile(vim.env.SIMDLENS_NVIM_PLUGIN .. '/lsp/simdlens.lua')
  result.lsp_config = {
    cmd = config.cmd,
    filetypes = config.filetypes,
    root_markers = config.root_markers,
    settings_json = vim.json.encode(config.settings),
    on_attach = type(config.on_attach) == 'function',
  }
end)
if not ok then
  result.error = tostring(err)
end
local file = io.open(vim.env.SIMDLENS_NVIM_RESULT, 'w')
file:write(vim.fn.json_encode(result))
file:close()
vim.cmd('qa!')
