-- Minimal Neovim config for the headless editor test: the setup() path of editors/nvim.
-- SIMDLENS_NVIM_PLUGIN: editors/nvim; SIMDLENS_SERVER_CMD: JSON list; SIMDLENS_SETTINGS: JSON object.
vim.opt.runtimepath:prepend(vim.env.SIMDLENS_NVIM_PLUGIN)
vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'
vim.cmd('filetype on')
require('simdlens').setup({
  cmd = vim.fn.json_decode(vim.env.SIMDLENS_SERVER_CMD),
  settings = vim.fn.json_decode(vim.env.SIMDLENS_SETTINGS),
})
