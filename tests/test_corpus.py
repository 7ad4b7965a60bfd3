"""The hostile corpus (``tests/corpus/cases/*.yaml``): every case gets its expected outcome.

Each case names its input, the command line or API call, and what must happen (see
``tests/corpus/runner.py``); ``docs/reliability.md`` lists them with the totals and is checked
to be current here (regenerate it with ``python -m tests.corpus.make_doc``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus import make_doc
from tests.corpus.runner import check, html_problems, load_cases, run_case, visible_text

CASES = load_cases()


def _param(case):
    marks = []
    if case.slow:
        marks.append(pytest.mark.slow)
    if case.xfail:
        marks.append(pytest.mark.xfail(reason=case.xfail, strict=True))
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case(case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outcome, ctx = run_case(case, tmp_path, monkeypatch)
    problems = check(case, outcome, ctx)
    assert not problems, f"{case.id} ({case.what}):\n  - " + "\n  - ".join(problems)


def test_corpus_is_large_and_spans_every_area() -> None:
    from tests.corpus.runner import AREAS

    assert len(CASES) >= 60
    assert {c.area for c in CASES} == set(AREAS)
    commands = {c.spec["run"][0] for c in CASES if c.spec.get("run")}
    assert {"pull", "report", "analyze"} <= commands


def test_reliability_doc_is_current() -> None:
    doc = Path(make_doc.DOC)
    assert doc.is_file(), "run: python -m tests.corpus.make_doc"
    assert doc.read_text(encoding="utf-8") == make_doc.render(CASES), \
        "docs/reliability.md is out of date: run `python -m tests.corpus.make_doc`"


def test_the_html_check_finds_markup_and_passes_text() -> None:
    """The corpus' HTML check itself: it finds every kind of injected markup, and it does not
    mistake escaped text (in the page or inside an attribute value) for markup."""
    bad = ["<body><script>alert(1)</script>", '<body><img src=x onerror="alert(1)">',
           "<body><a href='javascript:alert(1)'>x</a>", "<body><h1>SAFE TO SHIP</h1>",
           "<body><svg onload=alert(1)></svg>", '<body><p style="color:red">x</p>',
           "<body><iframe src=//evil></iframe>", "<body><A HREF=' JavaScript:x'>x</A>"]
    for page in bad:
        assert html_problems(page), page
    ok = ('<head><style>p{}</style></head><body><p>arc&lt;script&gt;alert(1)&lt;/script&gt;</p>'
          '<img src="data:image/png;base64,AAAA" alt="m&lt;img src=x onerror=alert(1)&gt;">'
          "<h2>Accuracy of \\# SAFE TO SHIP</h2><p>[docs](javascript:alert(1))</p>"
          '<a href="https://example.com">x</a></body>')
    assert html_problems(ok) == []
    assert "arc<script>alert(1)</script>" in visible_text(ok)


def test_every_evalkit_logger_redacts() -> None:
    """Every logger under ``evalkit`` (every module imported) carries the redacting filter, so
    a token reaches no handler whichever module logs it."""
    import importlib
    import logging
    import pkgutil

    import evalkit
    from evalkit.core import secrets

    for mod in pkgutil.walk_packages(evalkit.__path__, "evalkit."):
        if mod.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(mod.name)
        except ImportError:  # an optional extra that is not installed
            continue
    loggers = {name: lg for name, lg in logging.root.manager.loggerDict.items()
               if name.split(".")[0] == "evalkit" and isinstance(lg, logging.Logger)}
    assert len(loggers) >= 5
    marker = "sha256~LOGMARK-4b1d7e"  # token-shaped, too short to pass for a real one
    secrets.register(marker)
    for name, lg in loggers.items():
        assert any(isinstance(f, secrets.RedactingFilter) for f in lg.filters), \
            f"logger {name} has no redacting filter: get it with evalkit.core.secrets.get_logger"
        record = lg.makeRecord(name, logging.WARNING, __file__, 1, "token %s in %s",
                               (marker, {"Authorization": f"Bearer {marker}"}), None)
        for f in lg.filters:
            f.filter(record)
        assert marker not in record.getMessage()
