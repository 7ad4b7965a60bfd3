"""The fast scanner's float parsers are exact: bit for bit what ``float()`` of the JSON string
gives, on every backend this stack has (pyarrow's CSV reader, pandas >= 3 ``read_csv``,
``float()``), and whole answers parse like a plain ``json.loads`` reading on every path."""

from __future__ import annotations

import json
import math
import random
import struct
from decimal import Decimal, localcontext

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit import prometheus as P
from evalkit.core.errors import PrometheusError
from evalkit.prometheus import scan as S

BACKENDS = ["float"]
if S._arrow() is not None:
    BACKENDS.append("arrow")
if S._PANDAS_CSV:
    BACKENDS.append("pandas")


def backend_parse(name: str, text: bytes, n: int):
    if name == "arrow":
        return S._parse_arrow(S._arrow(), text, n)
    if name == "pandas":
        return S._parse_pandas(text, n)
    return S._parse_float(text, n)


def bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def hard_numbers(rng: random.Random, k: int) -> list[str]:
    """Strings that stress a float parser: shortest reprs of random bit patterns, long digit
    strings with any exponent, exact halfway points between neighbouring doubles (and their
    last digit nudged), subnormals and the overflow edge, Prometheus' specials."""
    out = []
    while len(out) < k:
        kind = rng.randrange(5)
        if kind == 0:
            x = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
            if math.isfinite(x):
                out.append(repr(x))
        elif kind == 1:
            d = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 30)))
            f = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 30)))
            e = rng.choice(["", f"e{rng.randint(-340, 320)}", f"E+{rng.randint(0, 300)}"])
            out.append(rng.choice(["", "-"]) + d + ("." + f if f else "") + e)
        elif kind == 2:
            x = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(62) | (1 << 62)
                                                 if rng.random() < .5 else rng.getrandbits(62)))[0]
            if not math.isfinite(x):
                continue
            with localcontext() as ctx:
                ctx.prec = 1200
                mid = (Decimal(x) + Decimal(float(np.nextafter(x, math.inf)))) / 2
                s = format(mid, "e")
            if rng.random() < 0.5 and s[0].isdigit():
                mant, exp = s.split("e")
                s = mant[:-1] + rng.choice("0123456789") + "e" + exp
            out.append(s)
        elif kind == 3:
            out.append(f"{rng.randint(1, 10**17)}e{rng.choice([-345, -330, -324, -308, 291, 292])}")
        else:
            out.append(rng.choice(["NaN", "+Inf", "-Inf", "0", "-0", "1", "0.1", "1e-320",
                                   "4.9406564584124654e-324", "1.7976931348623157e308",
                                   "1.7976931348623159e308", "2.2250738585072011e-308"]))
    return out


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(4))
def test_backends_are_bit_identical_to_float(backend: str, seed: int) -> None:
    rng = random.Random(seed)
    vals = hard_numbers(rng, 20_000)
    ts = [str(1_700_000_000 + i) + rng.choice(["", ".5", ".125", ".001"]) for i in range(len(vals))]
    text = "\n".join(f",{t},{v}" for t, v in zip(ts, vals, strict=True)).encode()
    got = backend_parse(backend, text, len(vals))
    assert got is not None
    t, v = got
    assert [bits(x) for x in t.tolist()] == [bits(float(x)) for x in ts]
    assert [bits(x) for x in v.tolist()] == [bits(float(x)) for x in vals]


# every string over the characters the scanner lets through: accepted exactly when float()
# accepts it, with the same bits (NaN's sign included)
NUMBER_CHARS = "0123456789.eE+-NaInfity"
number_text = st.text(st.sampled_from(NUMBER_CHARS), min_size=0, max_size=9) | st.sampled_from(
    ["NaN", "+Inf", "-Inf", "nan", "-nan", "inf", "Infinity", "-infinity", "+NaN", "1.", ".5",
     "00012", "1e", "1e+", ".", "+", "-", "", "1.e5", "-.5e-3", "InfinityE", "nan1"])


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=400, deadline=None)
@given(st.lists(number_text, min_size=1, max_size=8))
def test_backends_accept_what_float_accepts(backend: str, strings: list[str]) -> None:
    want = []
    for s in strings:
        try:
            want.append(float(s))
        except ValueError:
            want = None
            break
    text = "\n".join(f",1,{s}" for s in strings).encode()
    got = backend_parse(backend, text, len(strings))
    if backend == "pandas" and got is None:
        return  # read_csv refuses some float() spellings ("nan", "inf"): float() then parses
    if want is None:
        assert got is None, (strings, got)
    else:
        assert got is not None, strings
        assert [bits(x) for x in got[1].tolist()] == [bits(x) for x in want]


# ----------------------------------------------------------------------------- whole answers


def reference(body: bytes) -> list[tuple[dict, int, int]]:
    """The plain-json reading: (labels, ms, bits of float(value)) per sample."""
    out = []
    for s in json.loads(body)["data"]["result"]:
        for t, v in s["values"]:
            out.append((s["metric"], round(float(t) * 1000), bits(float(v))))
    return out


def got_rows(frame: pd.DataFrame) -> list[tuple[dict, int, int]]:
    labels = [c for c in frame.columns if c not in ("timestamp", "value")]
    ms = (frame["timestamp"].astype("int64") // 1_000_000).tolist()
    cols = {c: frame[c].tolist() for c in labels}
    out = []
    for i, (t, v) in enumerate(zip(ms, frame["value"].tolist(), strict=True)):
        lab = {("__name__" if c == "metric_name" else c): cols[c][i] for c in labels
               if isinstance(cols[c][i], str)}
        out.append((lab, t, bits(v)))
    return out


EVIL_LABELS = ['"values":[[1,"2"]]', "]]", '"values":[', '{"metric":{}}', "\\", '\\"]]\\"',
               "ünï 🙂", '"value":[1,"2"]', '[[1700000000,"9"]]', '],["1",', "\n"]


def random_body(rng: random.Random, *, big: bool) -> bytes:
    result = []
    for i in range(rng.randint(0 if not big else 1, 6)):
        n = rng.randint(3000, 9000) if big and i == 0 else rng.randint(1, 60)
        vals = hard_numbers(rng, n)
        step = rng.choice([15, 30, 0.5, 0.125, 0.001])
        t0 = 1_700_000_000 + rng.randint(0, 10**6)
        ts = [t0 + k * step for k in range(n)]
        labels = {"__name__": "vllm:x", "pod": f"p{i}"}
        if rng.random() < 0.6:
            labels[rng.choice(["evil", "values", "metric", "le"])] = rng.choice(EVIL_LABELS)
        result.append({"metric": labels, "values": [[t, v] for t, v in zip(ts, vals, strict=True)]})
    doc = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    body = json.dumps(doc, separators=(",", ":"), ensure_ascii=rng.random() < 0.5)
    return body.encode()


@pytest.mark.parametrize("path", ["default", "arrow-always", "float-only", "tiny-batches"])
@pytest.mark.parametrize("seed", range(6))
def test_random_answers_equal_plain_json_on_every_path(path: str, seed: int,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    if path == "arrow-always":
        if S._arrow() is None:
            pytest.skip("pyarrow cannot be loaded on this stack")
        monkeypatch.setattr(S, "_SMALL_BATCH", 0)
    elif path == "float-only":
        monkeypatch.setattr(S, "_arrow", lambda: None)
        monkeypatch.setattr(S, "_PANDAS_CSV", False)
    elif path == "tiny-batches":
        monkeypatch.setattr(S.Batcher.__init__, "__defaults__", (2000,))
        monkeypatch.setattr(S, "_SMALL_BATCH", 0)
    rng = random.Random(1000 + seed)
    for _ in range(3):
        body = random_body(rng, big=rng.random() < 0.5)
        assert got_rows(P.parse_matrix(body)) == reference(body)


@pytest.mark.parametrize("ts", ["0", "0.5", "-1", "-0.5", "1e9", "1E+9", "1.5e9", "17e8", "10",
                                "1700000000.123", "1700000000.0001"])
def test_unusual_but_valid_timestamps_parse_like_json(ts: str) -> None:
    body = ('{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},'
            f'"values":[[{ts},"1.5"],[1800000000,"2"]]}}]}}}}').encode()
    assert got_rows(P.parse_matrix(body)) == reference(body)


@pytest.mark.parametrize("ts", ["01", "+1", ".5", "1.", "1.e3", "-.5", "-01", "NaN", "Infinity",
                                "-Infinity", "nan", "inf", "1e400", "1e300", ""])
def test_timestamps_json_or_a_frame_cannot_hold_are_bad_payload(ts: str) -> None:
    body = ('{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},'
            f'"values":[[{ts},"1.5"],[1800000000,"2"]]}}]}}}}')
    with pytest.raises(PrometheusError) as exc:
        P.parse_matrix(body)
    assert exc.value.error_type == "bad_payload"


def test_a_pyarrow_that_cannot_load_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyarrow >= 26 refuses to import next to numpy 1.x: parsing must not depend on it."""
    monkeypatch.setattr(S, "_ARROW", None)
    rng = random.Random(7)
    body = random_body(rng, big=True)
    assert got_rows(P.parse_matrix(body)) == reference(body)
