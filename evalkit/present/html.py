"""An executed notebook → one self-contained HTML page.

The page loads nothing from the network (no require.js, MathJax or mermaid, no web font):
in a disconnected cluster it renders at once. Code cells are left out; their outputs —
Markdown, HTML tables, PNG figures (with alt text), plain text — are kept; stderr streams and
warnings never reach the page. The body is sanitised with ``nh3`` (no ``<script>``, no event
handler attribute, no ``javascript:`` URL, images only as embedded ``data:`` URIs), on top of
the escaping every name already got where it was written.

>>> page = render_cells([{"cell_type": "markdown", "source": "# Title <script>x</script>"}])
>>> "<script" in page, "<h1" in page
(False, True)
"""

from __future__ import annotations

import base64
import html as _html
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_TAGS = {
    "a", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "details",
    "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "li", "ol", "p", "pre", "s", "section", "small", "span", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}
_ATTRS = {
    "*": {"class", "id", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 margin:0 auto;max-width:1100px;padding:1.5rem 2rem;color:#1b1b1b;line-height:1.45}
h1{font-size:1.7rem;border-bottom:2px solid #ccc;padding-bottom:.3rem}
h2{font-size:1.3rem;margin-top:2.2rem;border-bottom:1px solid #ddd}
h3{font-size:1.1rem}
blockquote{margin:1rem 0;padding:.6rem 1rem;background:#fff4e5;border-left:4px solid #e69f00}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;
 background:#f3f3f3;padding:0 .2em;border-radius:3px}
pre{background:#f7f7f7;padding:.6rem;overflow-x:auto;white-space:pre-wrap}
table{border-collapse:collapse;margin:.8rem 0;font-size:.88rem;display:block;overflow-x:auto}
th,td{border:1px solid #d0d0d0;padding:.25rem .5rem;text-align:left;vertical-align:top;
 max-width:34em;overflow-wrap:anywhere}
caption{caption-side:top;text-align:left;font-weight:600;padding:.3rem 0}
thead th{background:#f0f0f0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto;display:block;margin:.6rem 0}
figure{margin:1rem 0}
.output{margin:.4rem 0}
"""


def _sanitise(fragment: str) -> str:
    import nh3

    return nh3.clean(fragment, tags=_TAGS, attributes=_ATTRS,
                     url_schemes={"data", "https", "http", "mailto"},
                     link_rel="noopener noreferrer", strip_comments=True,
                     attribute_filter=_attribute_filter)


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if tag == "img" and attr == "src":
        return value if value.startswith("data:image/png;base64,") else None
    if tag == "a" and attr == "href":
        return value if value.startswith(("#", "https://", "http://")) else None
    return value


_ANCHOR = re.compile(r'<a class="anchor-link"[^>]*>.*?</a>', re.S)


def _markdown(text: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return _ANCHOR.sub("", markdown2html_mistune(text))


def _output_html(out: dict[str, Any]) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        if out.get("name") != "stdout":
            return ""  # stderr (warnings, kernel noise) never reaches the page
        return f"<pre>{_html.escape(_text(out.get('text')))}</pre>"
    if kind not in ("display_data", "execute_result"):
        return ""
    data = out.get("data") or {}
    meta = out.get("metadata") or {}
    if "image/png" in data:
        png = _text(data["image/png"]).replace("\n", "")
        base64.b64decode(png, validate=True)  # a broken image is a bug, not an output
        alt = (meta.get("image/png") or {}).get("alt") or meta.get("alt") or "figure"
        return (f'<figure><img src="data:image/png;base64,{png}" alt="{_html.escape(alt)}">'
                "</figure>")
    if "text/html" in data:
        return f'<div class="output">{_text(data["text/html"])}</div>'
    if "text/markdown" in data:
        return f'<div class="output">{_markdown(_text(data["text/markdown"]))}</div>'
    if "text/plain" in data:
        return f"<pre>{_html.escape(_text(data['text/plain']))}</pre>"
    return ""


def _text(v: Any) -> str:
    return "".join(v) if isinstance(v, list) else str(v or "")


def render_cells(cells: Iterable[dict[str, Any]], *, title: str = "evalkit report") -> str:
    """The HTML page for notebook ``cells`` (dicts as in the ``.ipynb`` JSON)."""
    body: list[str] = []
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            body.append(_markdown(_text(cell.get("source"))))
        elif cell.get("cell_type") == "code":
            body.extend(_output_html(o) for o in cell.get("outputs") or [])
    clean = _sanitise("\n".join(b for b in body if b))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_html.escape(title)}</title><style>{CSS}</style></head>"
            f"<body>\n{clean}\n</body></html>\n")


def load_renderer() -> None:
    """Import the page's renderer (nbformat, nbconvert's Markdown, nh3; about a third of a
    second) ahead of use — ``evalkit report`` does it while the kernel runs."""
    import nbformat  # noqa: F401

    render_cells([{"cell_type": "markdown", "source": "*warm*"}])


def render_notebook(path: str | os.PathLike[str], *, title: str = "evalkit report") -> str:
    """The HTML page of an executed notebook file."""
    import nbformat

    nb = nbformat.read(str(Path(path)), as_version=4)
    return render_cells(nb.cells, title=title)
