"""Run one case of the hostile corpus and check its expected outcome.

A case (one entry of a ``tests/corpus/cases/*.yaml`` list)::

    - id: lmeval-deep-json                      # unique, stable
      what: JSON nested 100,000 levels deep     # one line for docs/reliability.md
      input: {dump.json: {gen: deep, kind: json, depth: 100000}}   # see tests/corpus/inputs.py
      run: [analyze, --source, "{in}/dump.json", --output, "{out}"]  # the CLI, in process
      # or  api: {call: load, source: "{in}/dump.json"}            # a Python API call
      env: {EVALKIT_MAX_FILE_MB: "1"}           # environment for the run
      server: {kube: pair}                      # loopback servers (see start_servers)
      slow: true                                # runs the real report notebook
      xfail: "why"                              # a known bug in a file this suite may not fix
      expect:
        exit: 2                                 # CLI exit code (0 when not given for `run`)
        stderr: "nested too deeply"             # substring(s) of stderr
        stdout: "..."                           # substring(s) of stdout
        raises: SourceError                     # API: the evalkit exception type (or "none")
        message: "..."                          # substring(s) of its message
        issue: {severity: error, contains: "MODIFIED"}   # a data issue (list: all of them)
        html: {contains: ["arc<script>"]}       # a rendered page: no markup from input
        unchanged: ["{in}/folder"]              # byte for byte after the run
        absent: ["{out}"]                       # paths that must not exist afterwards
        present: ["{out}/summary.json"]
        secret: "{marker}"                      # in no file, output, log record or error
        requests: 0                             # requests the loopback servers received
        prom_auth: false                        # the Prometheus stub saw no Authorization
        seconds: 10                             # wall-clock bound of the run

Checks made for EVERY case, whatever it expects: a failing command prints exactly one line on
stderr, never a traceback and never "internal error"; nothing appears in the current folder;
an API call raises nothing but :class:`~evalkit.core.errors.EvalkitError` subclasses; the
case's marker token (``{marker}``) appears in no output.
"""

from __future__ import annotations

import contextlib
import html as html_lib
import io
import json
import logging
import os
import re
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import inputs

CASES_DIR = Path(__file__).parent / "cases"
MARKER = "sha256~CORPUS-MARKER-" + "5e1f0c3a9b7d"
AREAS = {
    "lmeval": "LMEvalJob dumps and lm-eval results (load, analyze)",
    "samples": "per-sample logs",
    "snapshot": "snapshot folders (manifest, sha256, paths)",
    "prometheus": "Prometheus answers (parse_answer, saved answers)",
    "flags": "command-line flags (every command)",
    "secrets": "tokens and headers through every channel",
    "folders": "output folders: atomic writes, --overwrite, locks",
    "markup": "names from input in the HTML report, Markdown and figures",
    "http": "live sources: hostile servers, limits, deadlines",
}
KNOWN_EXPECT = {"exit", "stderr", "stdout", "raises", "message", "issue", "html", "unchanged",
                "absent", "present", "secret", "requests", "prom_auth", "seconds", "no_issue",
                "figures", "file_contains", "prom_requests"}


@dataclass
class Case:
    id: str
    area: str
    what: str
    spec: dict[str, Any]

    @property
    def slow(self) -> bool:
        return bool(self.spec.get("slow"))

    @property
    def xfail(self) -> str | None:
        return self.spec.get("xfail")

    @property
    def expect(self) -> dict[str, Any]:
        return self.spec.get("expect") or {}

    def command(self) -> str:
        """The command line or API call, for the documentation."""
        if "run" in self.spec:
            return "evalkit " + " ".join(_short_arg(a) for a in self.spec["run"]
                                         if a != "{pair}")
        api = dict(self.spec["api"])
        call = api.pop("call")
        args = ", ".join(f"{k}={_short_arg(v)}" for k, v in api.items())
        return f"{API_DOC.get(call, call)}({args})"

    def outcome(self) -> str:
        """The expected outcome in words, for the documentation."""
        e = self.expect
        parts = []
        if "exit" in e or "run" in self.spec:
            parts.append(f"exit {e.get('exit', 0)}")
        if e.get("raises") not in (None, "none"):
            parts.append(f"raises {e['raises']}")
        if e.get("raises") == "none":
            parts.append("no error")
        for key in ("stderr", "message"):
            for s in _as_list(e.get(key)):
                parts.append(f"“{doc_text(s)}”")
        for i in _as_list(e.get("issue")):
            parts.append(f"{i.get('severity', 'any')} issue “{i.get('contains', '')}”")
        if e.get("html"):
            parts.append("names shown as text, no markup from input")
        if e.get("figures"):
            parts.append("figures render")
        if e.get("unchanged"):
            parts.append("folder byte for byte unchanged")
        if e.get("absent"):
            parts.append("nothing left behind")
        if e.get("present"):
            parts.append(", ".join(Path(doc_text(p)).name for p in _as_list(e["present"]))
                         + " written")
        for p, subs in (e.get("file_contains") or {}).items():
            parts.append(f"{Path(p).name} holds " + ", ".join(f"“{x}”" for x in _as_list(subs)))
        if e.get("secret"):
            parts.append("token in no file/output/log")
        if e.get("requests") == 0:
            parts.append("no network call")
        if e.get("prom_auth") is False:
            parts.append("no token sent to Prometheus")
        if e.get("prom_requests") == 0:
            parts.append("nothing sent to the other origin")
        if "seconds" in e:
            parts.append(f"within {e['seconds']} s")
        return "; ".join(parts)

    def category(self) -> str:
        """``refused`` (typed error / exit code), ``reported`` (data issue), ``shown as text``
        or ``handled`` (works)."""
        e = self.expect
        if e.get("html") or e.get("figures"):
            return "shown as text"
        if e.get("exit", 0) != 0 or e.get("raises") not in (None, "none"):
            return "refused"
        if e.get("issue"):
            return "reported"
        return "handled"


_DOC_NAMES = {"{in}/": "", "{tmp}/": "", "{out}": "OUT", "{marker}": "TOKEN",
              "{prom_host}": "PROM_HOST", "{prom}": "PROM_URL", "{hostile}": "HOSTILE_URL",
              "{kube}": "KUBE_URL", "{in}": ".", "{tmp}": "."}


def doc_text(v: Any) -> str:
    """A case's value as the documentation shows it (placeholders named, line breaks
    visible)."""
    s = v if isinstance(v, str) else json.dumps(v)
    for k, name in _DOC_NAMES.items():
        s = s.replace(k, name)
    return s.replace("\n", "\\n").replace("\r", "\\r")


def _short_arg(v: Any) -> str:
    s = doc_text(v)
    return s if len(s) <= 60 else s[:57] + "..."


def _as_list(x: Any) -> list[Any]:
    if x is None:
        return []
    return list(x) if isinstance(x, list) else [x]


def load_cases() -> list[Case]:
    """Every case, in file then list order; ids unique, expectations known."""
    cases: list[Case] = []
    seen: set[str] = set()
    for f in sorted(CASES_DIR.glob("*.yaml")):
        area = f.stem.split("-", 1)[1]
        if area not in AREAS:
            raise ValueError(f"{f.name}: unknown area {area!r}")
        for spec in yaml.safe_load(f.read_text()) or []:
            cid = spec["id"]
            if cid in seen:
                raise ValueError(f"duplicate case id {cid}")
            seen.add(cid)
            if ("run" in spec) == ("api" in spec):
                raise ValueError(f"{cid}: give exactly one of run/api")
            unknown = set(spec.get("expect") or {}) - KNOWN_EXPECT
            if unknown:
                raise ValueError(f"{cid}: unknown expectation(s) {sorted(unknown)}")
            cases.append(Case(cid, area, spec["what"], spec))
    return cases


# ------------------------------------------------------------------------------ running


@dataclass
class Outcome:
    code: int | None = None
    stdout: str = ""
    stderr: str = ""
    exc: BaseException | None = None
    value: Any = None
    logs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    servers: dict[str, Any] = field(default_factory=dict)
    issues: list[dict[str, Any]] = field(default_factory=list)
    html: str | None = None


class Context:
    """Paths and placeholders of one case run."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.inp = tmp / "in"
        self.out = tmp / "out"
        self.cwd = tmp / "cwd"
        self.subs: dict[str, str] = {"{tmp}": str(tmp), "{in}": str(self.inp),
                                     "{out}": str(self.out), "{cwd}": str(self.cwd),
                                     "{marker}": MARKER}

    def fill(self, x: Any) -> Any:
        if isinstance(x, str):
            for k, v in self.subs.items():
                x = x.replace(k, v)
            return x
        if isinstance(x, list):
            return [self.fill(v) for v in x]
        if isinstance(x, dict):
            return {self.fill(k): self.fill(v) for k, v in x.items()}
        return x


def run_case(case: Case, tmp: Path, monkeypatch: Any) -> tuple[Outcome, Context]:
    ctx = Context(tmp)
    for d in (ctx.inp, ctx.cwd, tmp / "home"):
        d.mkdir(parents=True, exist_ok=True)
    _clean_env(monkeypatch, tmp)
    # retries keep their count and order, not their waits (as tests/test_http.py's fake sleep)
    monkeypatch.setattr("evalkit.core.http.RetryPolicy.delay", lambda self, attempt, ra: 0.0)
    inputs.materialize(ctx.inp, case.spec.get("input") or {}, ctx.fill)
    outcome = Outcome()
    with contextlib.ExitStack() as stack:
        _start_servers(case.spec.get("server"), ctx, stack, monkeypatch, outcome)
        for k, v in (case.spec.get("env") or {}).items():
            monkeypatch.setenv(k, ctx.fill(str(v)))
        before = {p: tree(Path(ctx.fill(p))) for p in _as_list(case.expect.get("unchanged"))}
        if case.spec.get("lock"):
            from evalkit.core.lock import TargetLock

            stack.enter_context(TargetLock(ctx.fill(case.spec["lock"])))
        if case.spec.get("hook"):
            _hook(ctx.fill(case.spec["hook"]), monkeypatch)
        monkeypatch.chdir(ctx.cwd)
        with _capture_logs(outcome.logs):
            t0 = time.monotonic()
            if "run" in case.spec:
                _run_cli(ctx.fill(case.spec["run"]), outcome)
            else:
                _run_api(ctx.fill(case.spec["api"]), outcome, ctx)
            outcome.seconds = time.monotonic() - t0
        outcome.servers["unchanged"] = {p: (b, tree(Path(ctx.fill(p)))) for p, b in before.items()}
        for name, srv in list(outcome.servers.items()):
            if hasattr(srv, "requests_seen"):
                outcome.servers[name + ":requests"] = list(srv.requests_seen)
            elif hasattr(srv, "seen"):
                outcome.servers[name + ":requests"] = list(srv.seen)
            elif hasattr(srv, "requests"):
                outcome.servers[name + ":count"] = srv.requests
    return outcome, ctx


def _hook(spec: dict[str, Any], monkeypatch: Any) -> None:
    """``hook: {target: "module.function", action: interrupt|create, path}``: while the run
    is inside ``target``, press Ctrl-C (``interrupt``) or create ``path`` (a file, with its
    folders: something appearing meanwhile) before calling the real function."""
    import importlib

    module, _, name = spec["target"].rpartition(".")
    mod = importlib.import_module(module)
    real = getattr(mod, name)

    def wrapped(*a: Any, **kw: Any) -> Any:
        if spec["action"] == "interrupt":
            raise KeyboardInterrupt
        p = Path(spec["path"])
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("created while evalkit was running\n")
        return real(*a, **kw)

    monkeypatch.setattr(mod, name, wrapped)


def _clean_env(monkeypatch: Any, tmp: Path) -> None:
    for var in list(os.environ):
        if var.startswith("EVALKIT_") or var in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST",
                                                  "KUBERNETES_SERVICE_PORT"):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp / "home"))
    monkeypatch.setattr("evalkit.core.auth.SERVICE_ACCOUNT_DIR", tmp / "no-sa")


def _start_servers(spec: Any, ctx: Context, stack: contextlib.ExitStack, monkeypatch: Any,
                   outcome: Outcome) -> None:
    """``server:`` keys — ``kube: pair|empty`` (the loopback Kubernetes API; ``token``,
    ``faults: [{kind, times, ...}]`` put a FaultProxy in front), ``hostile: MODE`` (the
    kubeconfig points at a :class:`~tests.corpus.hostile.HostileServer` instead), ``sa:
    TOKEN`` (an in-cluster service account over TLS instead of a kubeconfig), ``prom: true``
    (a Prometheus stub at ``{prom}``)."""
    if not spec:
        return
    from tests.servers import FaultProxy, KubeAPIServer
    from tests.servers.kube_api import DEFAULT_TOKEN

    from .hostile import HostileServer, PrometheusStub

    spec = ctx.fill(spec)
    if spec.get("prom"):
        prom = stack.enter_context(PrometheusStub())
        ctx.subs["{prom}"] = prom.url
        ctx.subs["{prom_host}"] = prom.url.split("://", 1)[1]
        spec = ctx.fill(spec)
        outcome.servers["prom"] = prom
    if spec.get("hostile"):
        h = spec["hostile"] if isinstance(spec["hostile"], dict) else {"mode": spec["hostile"]}
        host = stack.enter_context(HostileServer(h["mode"], to=h.get("to", "")))
        outcome.servers["hostile"] = host
        ctx.subs["{hostile}"] = host.url
        if "kube" not in spec:
            from tests.servers.kube_api import write_kubeconfig

            kc = write_kubeconfig(ctx.inp / "kubeconfig", host.url, token="corpus-kube-token")
            monkeypatch.setenv("KUBECONFIG", str(kc))
            ctx.subs["{kube}"] = host.url
    if "kube" not in spec:
        return
    jobs = inputs.pair_doc(patch_=spec.get("patch"))["items"] if spec["kube"] == "pair" else []
    token = spec.get("token", DEFAULT_TOKEN)
    if spec.get("sa"):
        from tests.servers import make_certs

        certs = make_certs(ctx.tmp / "certs")
        api = stack.enter_context(KubeAPIServer({"private-ai-demo": jobs}, token=spec["sa"],
                                                tls=certs))
        sa = ctx.tmp / "sa"
        sa.mkdir()
        (sa / "token").write_text(spec["sa"])
        (sa / "ca.crt").write_bytes(certs.ca_cert.read_bytes())
        monkeypatch.setattr("evalkit.core.auth.SERVICE_ACCOUNT_DIR", sa)
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(api.port))
        outcome.servers["kube"] = api
        ctx.subs["{kube}"] = api.url
        return
    certs = None
    if spec.get("tls"):  # HTTPS with a CA the client was not told about
        from tests.servers import make_certs

        certs = make_certs(ctx.tmp / "certs")
    api = stack.enter_context(KubeAPIServer({"private-ai-demo": jobs}, token=token, tls=certs))
    outcome.servers["kube"] = api
    url = api.url
    if spec.get("faults"):
        proxy = stack.enter_context(FaultProxy(api.url))
        for f in spec["faults"]:
            f = dict(f)
            if f.get("body") == "@deep":  # JSON nested 100,000 levels deep
                f["body"] = '{"items": ' + "[" * 100_000 + "]" * 100_000 + "}"
            proxy.inject(str(f.pop("kind")), **f)
        outcome.servers["proxy"] = proxy
        url = proxy.url
    kc = api.write_kubeconfig(ctx.inp / "kubeconfig", server=url, ca_cert=None,
                              token=spec.get("kubeconfig_token", token))
    monkeypatch.setenv("KUBECONFIG", str(kc))
    ctx.subs["{kube}"] = url


@contextlib.contextmanager
def _capture_logs(sink: list[str]) -> Iterator[None]:
    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            try:
                sink.append(f"{record.name}: {record.getMessage()} {record.exc_text or ''}")
            except Exception:  # noqa: BLE001 - a malformed record is still recorded
                sink.append(f"{record.name}: {record.msg!r} {record.args!r}")

    handler = Collect(logging.DEBUG)
    root = logging.getLogger()
    names = ("evalkit", "urllib3", "requests", "kubernetes", "papermill")
    saved = [(n, logging.getLogger(n).level) for n in names] + [("", root.level)]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for n in names:
        logging.getLogger(n).setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        for n, level in saved:
            logging.getLogger(n).setLevel(level)


def _run_cli(argv: list[str], outcome: Outcome) -> None:
    from evalkit.cli import main

    pair = ["--baseline", inputs.BASELINE, "--candidate", inputs.CANDIDATE]
    argv = [x for a in argv for x in (pair if a == "{pair}" else [a])]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            outcome.code = main(argv)
        except SystemExit as exc:  # argparse: usage errors and --help
            outcome.code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None
                                                                       else 2)
    outcome.stdout, outcome.stderr = out.getvalue(), err.getvalue()


def _run_api(api: dict[str, Any], outcome: Outcome, ctx: Context) -> None:
    api = dict(api)
    call = api.pop("call")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            outcome.value = API_CALLS[call](ctx=ctx, outcome=outcome, **api)
        except BaseException as exc:  # noqa: BLE001 - recorded and judged by check()
            outcome.exc = exc
    outcome.stdout, outcome.stderr = out.getvalue(), err.getvalue()


# ------------------------------------------------------------------------------ API calls


def _issues_of(*frames_: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for f in frames_:
        if f is not None and len(f):
            rows += f.to_dict(orient="records")
    return rows


def api_load(*, ctx: Context, outcome: Outcome, source: str, samples: str | None = None) -> Any:
    import evalkit as ek

    b = ek.load(source, samples=samples)
    parts = [b.issues, b.lmeval.issues]
    for attr in ("serving", "registry", "guidellm"):
        r = getattr(b, attr)
        if r is not None:
            parts.append(r.issues)
    outcome.issues = _issues_of(*parts)
    return b


def api_analyze(*, ctx: Context, outcome: Outcome, source: str, samples: str | None = None,
                **kw: Any) -> Any:
    import evalkit as ek

    a = ek.analyze(ek.load(source, samples=samples), **kw)
    outcome.issues = _issues_of(a.issues)
    return a


def api_parse_answer(*, ctx: Context, outcome: Outcome, file: str) -> Any:
    from evalkit.prometheus import parse_answer

    return parse_answer(Path(file).read_bytes(), endpoint="corpus")


def api_open_snapshot(*, ctx: Context, outcome: Outcome, path: str) -> Any:
    from evalkit.core.snapshot import open_snapshot

    snap = open_snapshot(path)
    for rel in snap.listed():
        snap.read_bytes(rel)
    outcome.issues = list(snap.issues)
    return snap


def api_read_samples(*, ctx: Context, outcome: Outcome, file: str) -> Any:
    from evalkit.lmeval.samples import read_samples_file

    issues: list[dict[str, str]] = []
    df = read_samples_file(Path(file), task="arc_easy", job="j", model="m", issues=issues)
    outcome.issues = issues
    return df


def notebook_cells(params: dict[str, Any], *, figures: bool) -> list[dict[str, Any]]:
    """The report notebook's cells with the outputs its code displays, executed in this process
    (no kernel): ``display`` is recorded with IPython's own formatter, so Markdown, HTML and
    figures land exactly as the kernel would send them. ``figures=False`` records figures as
    text instead of drawing them (fast; the ``figures`` call draws them)."""
    import IPython.core.display_functions as idf
    import IPython.display as ipd
    import nbformat
    from IPython.core.formatters import DisplayFormatter

    from evalkit._resources import resource
    from evalkit.present import sections

    nb = nbformat.read(str(resource("02-eval-results.ipynb")), as_version=4)
    fmt = DisplayFormatter()
    outputs: list[dict[str, Any]] = []

    def display(*objs: Any, raw: bool = False, metadata: Any = None, **kw: Any) -> None:
        for obj in objs:
            data, meta = (obj, metadata or {}) if raw else fmt.format(obj)
            outputs.append({"output_type": "display_data", "data": data, "metadata": meta})

    saved = (ipd.display, idf.display, sections.show)
    ipd.display = idf.display = display
    stubbed: list[tuple[Any, str, Any]] = []
    if not figures:  # neither build nor draw figures: the `figures` call does
        import importlib

        sections.show = lambda fig: outputs.append(  # type: ignore[assignment]
            {"output_type": "display_data", "data": {"text/plain": "a figure"}})
        for name in ("quality", "serving", "economics"):
            try:
                mod = importlib.import_module(f"evalkit.present.plots.{name}")
            except ImportError:
                continue
            for attr in getattr(mod, "__all__", []):
                stubbed.append((mod, attr, getattr(mod, attr)))
                setattr(mod, attr, lambda *a, **k: None)
    cells: list[dict[str, Any]] = []
    ns: dict[str, Any] = {}
    try:
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "markdown":
                cells.append({"cell_type": "markdown", "source": cell.source})
                continue
            outputs.clear()
            src = "\n".join(ln for ln in cell.source.splitlines()
                            if not ln.lstrip().startswith("%"))
            exec(compile(src, f"<report cell {i}>", "exec"), ns)  # noqa: S102 - our notebook
            if "parameters" in cell.metadata.get("tags", []):
                ns.update(params)
            cells.append({"cell_type": "code", "outputs": list(outputs)})
    finally:
        ipd.display, idf.display, sections.show = saved
        for mod, attr, fn in stubbed:
            setattr(mod, attr, fn)
    import matplotlib.pyplot as plt

    plt.close("all")
    return cells


def _report_params(source: str) -> tuple[dict[str, Any], Any]:
    """The notebook's parameters for ``source``: its first job's model against its second's
    (what ``evalkit report --baseline ... --candidate ...`` passes), and the analysis issues."""
    import evalkit as ek

    b = ek.load(source)
    models = [m for m in dict.fromkeys(b.lmeval.jobs["model"]) if m in b.lmeval.models]
    a = ek.analyze(b, models[0], models[1:2])
    return {"source": source, "baseline": models[0], "candidates": models[1:2]}, a


def api_render(*, ctx: Context, outcome: Outcome, source: str) -> Any:
    """The report page as ``evalkit report`` builds it — the notebook's own code and display
    calls, rendered and sanitised by :func:`evalkit.present.html.render_cells` — without a
    kernel and without drawing figures."""
    from evalkit.present.html import render_cells

    params, a = _report_params(source)
    outcome.issues = _issues_of(a.issues)
    cells = notebook_cells(params, figures=False)
    outcome.html = render_cells(cells, title=f"{a.baseline} vs {', '.join(a.candidates)}")
    return a


def api_figures(*, ctx: Context, outcome: Outcome, source: str) -> Any:
    """The report notebook run in process WITH its figures drawn to PNG (mathtext and layout
    errors surface here)."""
    params, a = _report_params(source)
    cells = notebook_cells(params, figures=True)
    pngs = [o for c in cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    if not pngs:
        raise AssertionError("the notebook drew no figure")
    return a


def api_pull(*, ctx: Context, outcome: Outcome, **kw: Any) -> Any:
    from evalkit.collect import pull

    return pull(**kw)


#: how the documentation names each API call
API_DOC = {"load": "evalkit.load", "analyze": "evalkit.analyze", "parse_answer":
           "evalkit.prometheus.parse_answer", "open_snapshot": "open_snapshot_and_read_all",
           "read_samples": "read_samples_file", "render": "report_page",
           "figures": "report_figures", "pull": "evalkit.pull"}
API_CALLS = {"load": api_load, "analyze": api_analyze, "parse_answer": api_parse_answer,
             "open_snapshot": api_open_snapshot, "read_samples": api_read_samples,
             "render": api_render, "figures": api_figures, "pull": api_pull}


# ------------------------------------------------------------------------------ checking


def tree(path: Path) -> dict[str, Any] | None:
    """Everything under ``path`` (bytes of files, targets of links, modes) — or None."""
    if not path.exists() and not path.is_symlink():
        return None
    if path.is_symlink() or path.is_file():
        return {"": _entry(path)}
    out = {"": ("dir", path.stat().st_mode)}
    for p in sorted(path.rglob("*")):
        out[p.relative_to(path).as_posix()] = _entry(p)
    return out


def _entry(p: Path) -> Any:
    if p.is_symlink():
        return ("link", os.readlink(p))
    if p.is_dir():
        return ("dir", p.stat().st_mode)
    if p.is_file():
        return ("file", p.stat().st_mode, p.read_bytes())
    return ("special", p.stat().st_mode)


_ACTIVE_TAGS = {"script", "iframe", "object", "embed", "svg", "math", "form", "input", "base",
                "link", "meta", "frame", "frameset", "applet", "template", "button", "textarea"}


def html_problems(page: str) -> list[str]:
    """Markup in a report page that can only have come from input: an active element, an
    event-handler attribute, a script URL, a style in the body, or a heading that says
    "SAFE TO SHIP" (parsed as a browser would, so escaped text inside attributes is text)."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Check(HTMLParser):
        in_body = False
        heading: list[str] | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "body":
                self.in_body = True
            if not self.in_body:
                return
            if tag in _ACTIVE_TAGS or tag == "style":
                found.append(f"active tag <{tag}> in the body")
            for name, value in attrs:
                v = (value or "").strip().lower()
                if name.startswith("on"):
                    found.append(f"event-handler attribute {name}= on <{tag}>")
                if name in ("href", "src", "action", "formaction", "xlink:href") and \
                        v.startswith(("javascript:", "vbscript:", "data:text")):
                    found.append(f"script URL in <{tag} {name}>")
                if name == "style":
                    found.append(f"style attribute on <{tag}>")
            if re.fullmatch(r"h[1-6]", tag):
                self.heading = []

        def handle_data(self, data: str) -> None:
            if self.heading is not None:
                self.heading.append(data)

        def handle_endtag(self, tag: str) -> None:
            if re.fullmatch(r"h[1-6]", tag) and self.heading is not None:
                text = "".join(self.heading)
                if "SAFE TO SHIP" in text and "# SAFE TO SHIP" not in text:  # the # was eaten
                    found.append(f"forged heading <{tag}>{''.join(self.heading)[:80]}")
                self.heading = None

    Check(convert_charrefs=True).feed(page)
    return found


def visible_text(page: str) -> str:
    body = page.split("<body>", 1)[-1]
    return html_lib.unescape(re.sub(r"<[^>]+>", "", body))


def check(case: Case, o: Outcome, ctx: Context) -> list[str]:
    """Every way the outcome differs from the case's expectation (empty: as expected)."""
    e = ctx.fill(case.expect)
    bad: list[str] = []
    text_out = o.stdout + o.stderr
    # universal: clear answers, nothing in the current folder, only evalkit's own errors
    if "run" in case.spec:
        want = e.get("exit", 0)
        if o.code != want:
            bad.append(f"exit {o.code}, expected {want}; stderr: {o.stderr.strip()[:300]!r}")
        if o.code not in (0, None):
            # what a terminal shows: a progress bar erases itself with carriage returns
            lines = [ln.rsplit("\r", 1)[-1] for ln in o.stderr.split("\n")]
            lines = [ln for ln in lines if ln.strip()]
            if len(lines) != 1:
                bad.append(f"a failure must be one line on stderr, got {len(lines)}: "
                           f"{o.stderr[:400]!r}")
        if "Traceback" in o.stderr or "internal error" in o.stderr:
            bad.append(f"internal error / traceback: {o.stderr[:400]!r}")
    else:
        from evalkit.core.errors import EvalkitError

        want_exc = e.get("raises")
        if o.exc is not None and not isinstance(o.exc, EvalkitError):
            bad.append("not an evalkit error: " + "".join(
                traceback.format_exception(o.exc))[-1500:])
        elif want_exc in (None, "none") and o.exc is not None:
            bad.append(f"unexpected {type(o.exc).__name__}: {o.exc}")
        elif want_exc not in (None, "none"):
            names = {c.__name__ for c in type(o.exc).__mro__} if o.exc is not None else set()
            if want_exc not in names:
                bad.append(f"expected {want_exc}, got {type(o.exc).__name__ if o.exc else 'no error'}"
                           f"{': ' + str(o.exc) if o.exc else ''}")
        if o.exc is not None:
            text_out += "\n" + "".join(traceback.format_exception(o.exc))
    left = sorted(p.name for p in ctx.cwd.iterdir())
    if left:
        bad.append(f"files written to the current folder: {left}")
    for s in _as_list(e.get("stderr")):
        if s not in o.stderr:
            bad.append(f"stderr lacks {s!r}: {o.stderr.strip()[:300]!r}")
    for s in _as_list(e.get("stdout")):
        if s not in o.stdout:
            bad.append(f"stdout lacks {s!r}: {o.stdout.strip()[:300]!r}")
    for s in _as_list(e.get("message")):
        if o.exc is None or s not in str(o.exc):
            bad.append(f"error message lacks {s!r}: {str(o.exc)[:300]!r}")
    issues = o.issues
    if "run" in case.spec and (e.get("issue") or e.get("no_issue")):
        summary = ctx.out / "summary.json"
        issues = json.loads(summary.read_text())["data_issues"] if summary.is_file() else []
    for want in _as_list(e.get("issue")):
        sev, sub = want.get("severity"), want.get("contains", "")
        if not any((sev is None or i["severity"] == sev) and sub in str(i["message"]) + " "
                   + str(i["object"]) for i in issues):
            bad.append(f"no {sev} issue containing {sub!r}; issues: "
                       f"{[(i['severity'], str(i['message'])[:80]) for i in issues][:12]}")
    for sub in _as_list(e.get("no_issue")):
        hits = [i for i in issues if sub in str(i["message"])]
        if hits:
            bad.append(f"unexpected issue containing {sub!r}: {hits[:3]}")
    if e.get("html"):
        page = o.html
        if page is None:
            path = ctx.out / "02-eval-results.html"
            page = path.read_text() if path.is_file() else ""
        if not page:
            bad.append("no HTML page was rendered")
        bad += html_problems(page)
        seen = visible_text(page)
        for s in _as_list(e["html"].get("contains")):
            if s not in seen:
                bad.append(f"the page does not show {s!r} as text")
    for p in _as_list(e.get("absent")):
        hits = ([str(x) for x in Path(p).parent.glob(Path(p).name)] if "*" in p
                else [p] if Path(p).exists() or Path(p).is_symlink() else [])
        if hits:
            bad.append(f"{hits} exist(s)")
    for p, subs in (e.get("file_contains") or {}).items():
        text = Path(p).read_text() if Path(p).is_file() else ""
        for sub in _as_list(subs):
            if sub not in text:
                bad.append(f"{p} lacks {sub!r}")
    for p in _as_list(e.get("present")):
        if not Path(p).exists():
            bad.append(f"{p} does not exist")
    for p, (before, after) in o.servers.get("unchanged", {}).items():
        if before != after:
            bad.append(f"{p} changed (before: {_summary(before)}, after: {_summary(after)})")
    secret = e.get("secret") or MARKER
    if secret:
        if secret in text_out:
            bad.append("the token appears in stdout/stderr/the error")
        if any(secret in line for line in o.logs):
            bad.append("the token appears in a log record")
        for p in ctx.tmp.rglob("*"):
            if ctx.inp in p.parents or p == ctx.inp or not p.is_file() or p.is_symlink():
                continue
            if (ctx.tmp / "sa") in p.parents or (ctx.tmp / "home") in p.parents:
                continue
            if secret.encode() in p.read_bytes():
                bad.append(f"the token appears in {p.relative_to(ctx.tmp)}")
        if o.html and secret in o.html:
            bad.append("the token appears in the HTML")
    if "requests" in e:
        n = sum(len(v) for k, v in o.servers.items() if k.endswith(":requests")
                and not k.startswith("prom")) + sum(
            v for k, v in o.servers.items() if k.endswith(":count"))
        if n != e["requests"]:
            bad.append(f"the servers saw {n} request(s), expected {e['requests']}")
    if "prom_auth" in e:
        seen_auth = [h.get("Authorization") for h in o.servers.get("prom:requests", [])]
        if not seen_auth:
            bad.append("the Prometheus stub saw no request")
        elif any(seen_auth) != bool(e["prom_auth"]):
            bad.append(f"Authorization sent to Prometheus: {[bool(a) for a in seen_auth]}")
        for h in o.servers.get("prom:requests", []) if not e["prom_auth"] else []:
            if secret and any(secret in str(v) for v in h.values()):
                bad.append("the token reached the Prometheus stub in a header")
                break
    if "prom_requests" in e and len(o.servers.get("prom:requests", [])) != e["prom_requests"]:
        bad.append(f"the Prometheus stub saw {len(o.servers.get('prom:requests', []))} "
                   f"request(s), expected {e['prom_requests']}")
    if "seconds" in e and o.seconds > float(e["seconds"]):
        bad.append(f"took {o.seconds:.1f} s, bound {e['seconds']} s")
    return bad


def _summary(t: dict[str, Any] | None) -> str:
    if t is None:
        return "absent"
    return f"{len(t)} entries"
