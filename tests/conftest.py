"""Shared test settings.

Real servers (Prometheus, Pushgateway) are started by the tests that need them; under CI
(``CI=true``) a missing server binary fails those tests instead of skipping them.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")

IN_CI = os.environ.get("CI", "").lower() == "true"
