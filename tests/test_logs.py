"""Secrets never reach a log line: structlog events and vendor libraries' stdlib logging."""

from __future__ import annotations

import logging

import structlog

from syncd import logs


def test_secret_keys_and_registered_values_are_masked(capsys, caplog):
    logs.configure("debug", "json")
    logs.register_secret("s3cr3t-token-value")
    log = structlog.get_logger("t")
    log.info(
        "calling",
        authorization="Bearer abc",
        nested={"api_key": "k", "ok": 1},
        error="request failed with s3cr3t-token-value in the URL",
    )
    logging.getLogger("urllib3").warning("header was s3cr3t-token-value")
    err = capsys.readouterr().err
    assert "s3cr3t-token-value" not in err and "Bearer abc" not in err
    assert '"api_key": "***"' in err and '"ok": 1' in err
    assert "header was ***" in caplog.text and "s3cr3t" not in caplog.text
    structlog.reset_defaults()
