"""Model Registry answers for the demo snapshot (GENERATED DEMO DATA): the two demo models as
a v1 registry would list them, written with the same layout ``evalkit pull --registry`` uses
(:func:`evalkit.registry.source.save_answers`).

Each ModelVersion carries the 13 build-time properties the demo's registration writes (mixed
types: string, int, double, bool, struct), two ``eval_*`` results stored by an earlier
pipeline run (the same numbers as the generated lm-eval results) and GuideLLM
``benchmark_rate_*`` properties with the float noise real rates have.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from evalkit.core.snapshot import SnapshotWriter
from evalkit.registry.parse import Answer, Fetched
from evalkit.registry.source import save_answers
from evalkit.registry.values import encode

URL = "https://private-ai-registry-rest.apps.cluster.example.com"
BASE_PATH = "/api/model_registry/v1"
BASE_MODEL = "mistralai/Mistral-Small-24B-Instruct-2501"
# model -> (ids, build facts that differ, benchmark results per rate)
MODELS: dict[str, dict[str, Any]] = {
    "mistral-24b": {
        "rm_id": "1", "version_id": "2", "artifact_id": "1", "quantization": "fp16", "gpus": 4,
        "format": "safetensors", "size_gb": 47.2, "uri": f"hf://{BASE_MODEL}",
        "build": {"pipeline": "private-ai-demo-build", "run": "build-mistral-24b-fp16-0412",
                  "quantizer": None},
        "bench": {1.0: (96.3, 182.0, 6.1), 7.999999999999999: (728.9, 311.0, 8.4),
                  32.599999999999994: (2210.4, 1290.0, 17.9)},
    },
    "mistral-24b-quantized": {
        "rm_id": "3", "version_id": "4", "artifact_id": "2", "quantization": "w4a16",
        "gpus": 1, "format": "compressed-tensors", "size_gb": 13.9,
        "uri": "oci://quay.io/private-ai-demo/mistral-small-24b-w4a16:1.0",
        "build": {"pipeline": "private-ai-demo-build", "run": "build-mistral-24b-w4a16-0413",
                  "quantizer": "llm-compressor 0.6.0", "scheme": "W4A16", "group_size": 128},
        "bench": {1.0: (93.8, 241.0, 7.3), 7.999999999999999: (604.2, 826.0, 12.2),
                  32.599999999999994: (1013.5, 6120.0, 41.8)},
    },
}
RUNTIME = "quay.io/modh/vllm@sha256:" + hashlib.sha256(b"evalkit-demo-vllm").hexdigest()


def _ms(t: dt.datetime) -> str:
    return str(int(t.timestamp() * 1000))


def _body(doc: Any) -> bytes:
    """What the server sends: compact JSON and a newline."""
    return (json.dumps(doc, separators=(",", ":")) + "\n").encode()


def _page(items: list[dict[str, Any]]) -> bytes:
    return _body({"items": items, "nextPageToken": "", "pageSize": 100, "size": len(items)})


def build_properties(name: str, info: dict[str, Any], evals: dict[str, float]) -> dict[str, Any]:
    """The typed customProperties of one demo version."""
    props: dict[str, Any] = {
        "base_model": BASE_MODEL,
        "quantization": info["quantization"],
        "gpu_requirement": info["gpus"],
        "accelerator": "NVIDIA L4",
        "runtime_image": RUNTIME,
        "format": info["format"],
        "deployment_type": "vLLM",
        "model_size_gb": info["size_gb"],
        "max_model_len": 16384,
        "tensor_parallel_size": info["gpus"],
        "validated": True,
        "build_info": info["build"],
        "source_uri": info["uri"],
    }
    props.update({f"eval_{k}": v for k, v in evals.items()})
    for rate, (tput, ttft, lat) in info["bench"].items():
        props[f"benchmark_rate_{rate!r}_throughput"] = tput
        props[f"benchmark_rate_{rate!r}_ttft_p99"] = ttft
        props[f"benchmark_rate_{rate!r}_latency_p99"] = lat
    return {k: encode(props[k]) for k in sorted(props)}


def write_demo_registry(writer: SnapshotWriter, *, registered: dt.datetime,
                        evaluated: dt.datetime, evals: dict[str, dict[str, float]]) -> None:
    """Write the registry answers for the demo models into ``writer``. ``evals``: per model,
    ``{"<task>_<metric>,<filter>": score}`` stored by the demo pipeline."""
    models, answers = [], []
    for k, (name, info) in enumerate(MODELS.items()):
        created = registered + dt.timedelta(minutes=10 * k)
        models.append({"id": info["rm_id"], "name": name,
                       "description": f"Mistral Small 24B Instruct ({info['quantization']})",
                       "owner": "private-ai-demo", "state": "LIVE", "customProperties": {},
                       "createTimeSinceEpoch": _ms(created),
                       "lastUpdateTimeSinceEpoch": _ms(created)})
        version = {"id": info["version_id"], "name": "1.0", "registeredModelId": info["rm_id"],
                   "description": f"{info['quantization']} build for vLLM", "state": "LIVE",
                   "author": "private-ai-demo-pipeline",
                   "customProperties": build_properties(name, info, evals[name]),
                   "createTimeSinceEpoch": _ms(created + dt.timedelta(seconds=5)),
                   "lastUpdateTimeSinceEpoch": _ms(evaluated + dt.timedelta(minutes=5 * k))}
        artifact = {"artifactType": "model-artifact", "id": info["artifact_id"], "name": name,
                    "modelFormatName": "vLLM", "modelFormatVersion": "1", "uri": info["uri"],
                    "state": "LIVE", "customProperties": {},
                    "createTimeSinceEpoch": _ms(created + dt.timedelta(seconds=6)),
                    "lastUpdateTimeSinceEpoch": _ms(created + dt.timedelta(seconds=6))}
        answers += [Answer("versions", _page([version]), parent=info["rm_id"]),
                    Answer("artifacts", _page([artifact]), parent=info["version_id"])]
    fetched = Fetched(url=URL, api="v1", base_path=BASE_PATH,
                      answers=[Answer("models", _page(models)), *answers],
                      discovery=[{"url": f"{URL}{BASE_PATH}/registered_models", "status": 200}])
    save_answers(writer, fetched, extra={"kind": "generated", "models": None})
