"""Shared test settings.

Real servers (Prometheus, Pushgateway) are started by the tests that need them; under CI
(``CI=true``) a missing server binary fails those tests instead of skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import matplotlib
import pytest

matplotlib.use("Agg")

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A real Prometheus on 127.0.0.1, backfilled with generated vLLM/DCGM series
    (``tests/promserver.py``), started once per session."""
    from tests.promserver import PromServer, require_or_skip

    require_or_skip()
    srv = PromServer.start(tmp_path_factory.mktemp("prometheus"))
    try:
        yield srv
    finally:
        srv.stop()
