"""PromQL builders: escaping, both vLLM name generations, DCGM fallbacks, units."""

from __future__ import annotations

import re

import pytest

from evalkit import promql

EVIL = ['a"b', "a\\b", "x} or vector(1) #", 'm"} or up{a="', "tab\tnew\nline", "ünï\\\"}"]


@pytest.mark.parametrize("name", EVIL)
def test_escaped_label_value_round_trips_and_stays_inside_its_literal(name: str) -> None:
    sel = promql.selector(model_name=name)
    text = str(sel)
    # the rendered literal parses back to exactly one matcher with the same value
    back = promql.parse_selector(text)
    assert back.matchers == (promql.Matcher("model_name", "=", name),)
    q = promql.ttft_quantile(0.9, sel)
    # nothing after the literal: the query keeps its shape
    assert q.startswith("histogram_quantile(0.9, sum by (model_name, le) (rate("
                        "vllm:time_to_first_token_seconds_bucket{model_name=\"")
    assert q.endswith('"}[5m])))')
    assert q.count("vector(1)") == (1 if "vector(1)" in name else 0)


@pytest.mark.parametrize("bad", ['model_name="x"} or vector(1)', 'model_name=x', 'a="b" c="d"',
                                 '1a="x"', 'a=="x"', '"x"', 'a="unterminated'])
def test_selector_strings_that_are_not_matcher_lists_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        promql.parse_selector(bad)


def test_selector_string_is_normalised() -> None:
    s = promql.Selector.of('{ namespace = "ns" , pod=~"m-predictor.*", a!=\'q\', b!~`x\\d` }')
    assert str(s) == 'namespace="ns",pod=~"m-predictor.*",a!="q",b!~"x\\\\d"'


def test_both_vllm_generations_are_preferred_never_added() -> None:
    q = promql.itl_quantile(0.99, 'model_name="m"')
    new, old = q.split(" or ")
    assert "vllm:inter_token_latency_seconds_bucket" in new
    assert "vllm:time_per_output_token_seconds_bucket" in old
    assert "+" not in q
    kv = promql.kv_cache_usage('model_name="m"')
    assert kv.index("kv_cache_usage_perc") < kv.index("gpu_cache_usage_perc")
    assert " or " in kv and "+" not in kv


def test_grouping_never_splits_engines() -> None:
    q = promql.generation_tokens_per_s('model_name="m"', by=("model_name", "engine"))
    assert "engine" not in q
    assert "sum by (model_name)" in q
    for metric, text in promql.serving_queries('namespace="n",pod=~"p.*"').items():
        assert text is not None, metric
        assert not re.search(r"by \([^)]*engine", text), metric


def test_dcgm_tries_exported_labels_first_and_drops_model_name() -> None:
    q = promql.gpu_utilization('namespace="ns",pod=~"m-predictor.*",model_name="m"')
    first, second = q.split(" or ")
    assert 'exported_namespace="ns",exported_pod=~"m-predictor.*"' in first
    assert 'namespace="ns",pod=~"m-predictor.*"' in second and "exported" not in second
    assert "model_name" not in q
    prof = promql.gpu_utilization('pod=~"x.*"', metric="DCGM_FI_PROF_GR_ENGINE_ACTIVE")
    assert prof.count("DCGM_FI_PROF_GR_ENGINE_ACTIVE") == 2


def test_gpu_metrics_without_pod_matcher_are_not_built() -> None:
    with pytest.raises(ValueError, match="pod matcher"):
        promql.gpu_utilization('model_name="m"')
    qs = promql.serving_queries('model_name="m"')
    assert qs["gpu_utilization"] is None and qs["gpus"] is None
    assert qs["gpu_memory_allocated_bytes"] is None
    assert qs["ttft_p50"] is not None


def test_units_cover_every_metric_and_memory_is_bytes() -> None:
    qs = promql.serving_queries('namespace="n",pod=~"p.*"')
    assert set(qs) == set(promql.UNITS) == set(promql.METRICS)
    assert promql.UNITS["gpu_utilization"] == "%"
    assert promql.UNITS["kv_cache_usage"] == "fraction (0-1)"
    assert qs["gpu_memory_allocated_bytes"].endswith("* 1048576")
    assert 'resource="nvidia_com_gpu"' in qs["gpus"]


def test_window_queries_use_increase_over_the_whole_window() -> None:
    w = promql.window_queries('model_name="m"', 86400)
    assert w["ttft_p99"] == ("histogram_quantile(0.99, sum by (model_name, le) (increase("
                             'vllm:time_to_first_token_seconds_bucket{model_name="m"}[86400s])))')
    assert "increase(vllm:time_to_first_token_seconds_sum" in w["ttft_mean"]
    assert "rate(vllm:request_success_total" in w["requests_per_s"]


@pytest.mark.parametrize(("value", "expected"), [(300, "300s"), (0.25, "250ms"), ("1h30m", "1h30m")])
def test_duration(value: object, expected: str) -> None:
    assert promql.duration(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["5 m", "m5", "", -1, 0])
def test_duration_rejects_garbage(bad: object) -> None:
    with pytest.raises(ValueError):
        promql.duration(bad)  # type: ignore[arg-type]


def test_regex_quote_matches_literally() -> None:
    name = "mistral-24b.v1+(x)"
    assert re.fullmatch(promql.regex_quote(name), name)
    assert not re.fullmatch(promql.regex_quote(name), "mistral-24bXv1+(x)")


def test_numpy_quantiles_render_as_plain_promql_numbers() -> None:
    import numpy as np

    q = promql.ttft_quantile(np.float64(0.9), 'model_name="m"', by=())
    assert q.startswith("histogram_quantile(0.9, ") and "np." not in q
    itl = promql.itl_quantile(np.float64(0.5), 'model_name="m"')
    assert itl.count("histogram_quantile(0.5, ") == 2
    assert promql.ttft_quantile(1, 'model_name="m"').startswith("histogram_quantile(1.0, ")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), "0.9", None, True,
                                 1j, [0.9]])
def test_quantile_must_be_a_finite_real(bad: object) -> None:
    with pytest.raises(ValueError, match="quantile"):
        promql.ttft_quantile(bad, 'model_name="m"')  # type: ignore[arg-type]


@pytest.mark.parametrize("fn", ["rate", "increase", "irate"])
def test_range_functions_on_the_whitelist_are_used(fn: str) -> None:
    assert f"({fn}(vllm:time_to_first_token_seconds_bucket" in promql.ttft_quantile(0.5, "", fn=fn)
    assert f"{fn}(vllm:time_to_first_token_seconds_sum" in promql.ttft_mean("", fn=fn)


@pytest.mark.parametrize("fn", ["delta", "rate(x[1m])) or vector(1) or (rate", "", "RATE"])
def test_other_range_functions_are_refused(fn: str) -> None:
    with pytest.raises(ValueError, match="range function"):
        promql.ttft_quantile(0.5, 'model_name="m"', fn=fn)
    with pytest.raises(ValueError, match="range function"):
        promql.itl_quantile(0.5, 'model_name="m"', fn=fn)
    with pytest.raises(ValueError, match="range function"):
        promql.ttft_mean('model_name="m"', fn=fn)


@pytest.mark.parametrize("metric", ["DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
                                    "ns:gpu_util:avg", "_x"])
def test_valid_gpu_metric_names_are_accepted(metric: str) -> None:
    assert promql.gpu_utilization('pod=~"p.*"', metric=metric).count(metric + "{") == 2
    assert promql.serving_queries('pod=~"p.*"', gpu_metric=metric)["gpu_utilization"]


@pytest.mark.parametrize("metric", ["DCGM_FI_DEV_GPU_UTIL) or vector(1", "9lives", "a-b", "",
                                    "a{b=\"c\"}", "ünï"])
def test_invalid_metric_names_are_refused_not_pasted(metric: str) -> None:
    with pytest.raises(ValueError, match="metric name"):
        promql.gpu_utilization('pod=~"p.*"', metric=metric)
    with pytest.raises(ValueError, match="metric name"):  # not silently "no pod matcher"
        promql.serving_queries('pod=~"p.*"', gpu_metric=metric)
    with pytest.raises(ValueError, match="metric name"):
        promql.metric_name(metric)
