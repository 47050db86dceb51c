"""LSP features, one per module: each turns a `DocumentSnapshot` into lsprotocol answers."""
