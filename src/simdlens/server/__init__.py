"""The simdlens language server (pygls): the only package that speaks LSP; see `server.server`."""
