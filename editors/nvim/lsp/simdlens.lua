-- simdlens for Neovim >= 0.11.
--
-- Put this directory (editors/nvim) on 'runtimepath', or copy this file to ~/.config/nvim/lsp/ and
-- lua/simdlens/ to ~/.config/nvim/lua/, then in init.lua:
--
--   vim.lsp.config('simdlens', { settings = { simdlens = { isa = 'avx2' } } })  -- optional overrides
--   vim.lsp.enable('simdlens')
--
-- Neovim 0.7 - 0.10: use require('simdlens').setup() from lua/simdlens/init.lua instead.
return {
  cmd = { 'simdlens', 'serve' },
  filetypes = { 'c', 'cpp' },
  root_markers = { 'compile_commands.json', 'compile_flags.txt', '.git' },
  -- the `simdlens` section (camelCase, nested model/sandbox/bench), read via workspace/configuration
  -- (vim.empty_dict(): an empty Lua table would go out as the JSON array `[]`)
  settings = { simdlens = vim.empty_dict() },
  -- code lens refresh support, and no window/showDocument (the report opens in a split instead)
  handlers = {
    -- Neovim 0.11 has no handler for it: lenses would change only when the cursor rests
    ['workspace/codeLens/refresh'] = function(...)
      local ok, simdlens = pcall(require, 'simdlens')
      return ok and simdlens.on_codelens_refresh(...) or vim.NIL
    end,
  },
  capabilities = (function()
    local ok, simdlens = pcall(require, 'simdlens')
    return ok and simdlens.capabilities() or nil
  end)(),
  on_attach = function(client, bufnr)
    local ok, simdlens = pcall(require, 'simdlens')
    if ok then
      simdlens.on_attach(client, bufnr) -- :SimdlensApply, :SimdlensVerify, :SimdlensReport, code lens refresh
    end
  end,
}
