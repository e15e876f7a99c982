"""Serve some emulators alone on a loopback SandboxServer, for the emulators' own tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from syncd.sandbox.server import Faults, SandboxServer, VendorApp


@contextmanager
def serving(*apps: VendorApp) -> Iterator[SandboxServer]:
    """A running server hosting `apps`; shut down on exit."""
    server = SandboxServer("127.0.0.1", 0, list(apps), Faults())
    # A short poll interval keeps shutdown (and so each test) fast.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
