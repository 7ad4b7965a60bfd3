"""A real headless Chromium (Debian's ``chromium``) driven over the DevTools protocol, for
checking the HTML report as a person's browser shows it.

:func:`inspect_page` opens a file with every network request refused (the page must need
none), waits for it to load, and returns what the page holds: images and whether each decoded,
external resources, scripts, visible text, and whether anything overflows its container.
Under CI a missing ``chromium`` is a failure, locally a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--remote-allow-origins=*",
         # no network at all: every host resolves to nothing, as in a disconnected cluster
         "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9"]

_PROBE = r"""
(() => {
  const imgs = [...document.images].map(i => ({src: i.src.slice(0, 30), alt: i.alt,
      ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth, shown: i.clientWidth,
      clipped: i.getBoundingClientRect().right > document.documentElement.clientWidth + 1}));
  const ext = [...document.querySelectorAll('[src],[href]')]
      .map(e => e.getAttribute('src') || e.getAttribute('href'))
      .filter(u => /^(https?:)?\/\//i.test(u));
  const handlers = [...document.querySelectorAll('*')].flatMap(e =>
      [...e.attributes].filter(a => a.name.startsWith('on')).map(a => a.name));
  return {title: document.title, images: imgs, external: ext,
          scripts: document.scripts.length, handlers: handlers,
          text: document.body.innerText, ready: document.readyState,
          width: document.documentElement.scrollWidth};
})()
"""


def require_chromium() -> str:
    if CHROMIUM:
        return CHROMIUM
    msg = "chromium is not installed (apt-get install -y chromium)"
    if IN_CI:
        pytest.fail(msg)
    pytest.skip(msg)


def inspect_page(path: Path, *, timeout: float = 60.0) -> dict[str, Any]:
    """Load ``path`` in headless Chromium with no network and return the probe's answer."""
    import websocket  # websocket-client

    exe = require_chromium()
    profile = tempfile.mkdtemp(prefix="evalkit-chromium-")
    proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={profile}",
                             "--remote-debugging-port=0", "--window-size=1280,900",
                             "about:blank"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        import urllib.request

        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json",
                                                    timeout=10).read())
        page = next(t for t in targets if t.get("type") == "page")
        ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=timeout)
        ids = iter(range(1, 10_000))

        def call(method: str, **params: Any) -> dict[str, Any]:
            i = next(ids)
            ws.send(json.dumps({"id": i, "method": method, "params": params}))
            while True:
                msg = json.loads(ws.recv())
                if msg.get("id") == i:
                    return msg.get("result", {})

        call("Page.enable")
        t0 = time.monotonic()
        call("Page.navigate", url=path.resolve().as_uri())
        while True:
            res = call("Runtime.evaluate", expression="document.readyState", returnByValue=True)
            if res.get("result", {}).get("value") == "complete":
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the page did not finish loading")
            time.sleep(0.1)
        load_s = time.monotonic() - t0
        out = call("Runtime.evaluate", expression=_PROBE, returnByValue=True)
        ws.close()
        value = out["result"]["value"]
        value["load_seconds"] = load_s
        return value
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
