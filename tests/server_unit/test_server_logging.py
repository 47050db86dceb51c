"""The server's log lines reach the editor once: stderr before the client initialized, window/logMessage after."""

from __future__ import annotations

import logging

import pytest
from lsprotocol import types

from simdlens.server.server import SimdlensServer, log_to_client


class NoEngine:
    def isas(self, settings: object) -> tuple[str, ...]:
        return ("avx2",)


async def test_each_log_line_goes_one_way(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    ls = SimdlensServer(NoEngine())  # type: ignore[arg-type]
    sent: list[types.LogMessageParams] = []
    monkeypatch.setattr(ls, "window_log_message", sent.append)
    logger = logging.getLogger("simdlens")
    before = (list(logger.handlers), logger.propagate, logger.level)
    root = logging.StreamHandler()  # what `logging.basicConfig(stream=sys.stderr)` installs
    logging.getLogger().addHandler(root)
    try:
        log_to_client(ls)
        log = logging.getLogger("simdlens.server.test")
        log.info("before initialize")
        ls.protocol.client_capabilities = types.ClientCapabilities()
        log.warning("after initialize")
    finally:
        logging.getLogger().removeHandler(root)
        logger.handlers[:], logger.propagate = before[0], before[1]
        logger.setLevel(before[2])
    err = capsys.readouterr().err
    assert err.count("before initialize") == 1 and "after initialize" not in err
    assert [(m.type, m.message) for m in sent] == [(types.MessageType.Warning, "after initialize")]
