-- Minimal Neovim >= 0.11 config for the headless editor test: editors/nvim/lsp/simdlens.lua through
-- vim.lsp.config() / vim.lsp.enable(), as a 0.11 user sets it up.
vim.opt.runtimepath:prepend(vim.env.SIMDLENS_NVIM_PLUGIN)
vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'
vim.cmd('filetype on')
vim.lsp.config('simdlens', {
  cmd = vim.fn.json_decode(vim.env.SIMDLENS_SERVER_CMD),
  settings = { simdlens = vim.fn.json_decode(vim.env.SIMDLENS_SETTINGS) },
})
vim.lsp.enable('simdlens')
