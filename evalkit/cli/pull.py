"""``evalkit pull``: save LMEvalJobs (and Prometheus series, Model Registry answers) into a
snapshot folder."""

from __future__ import annotations

import argparse
import os
from typing import Any

from . import args as A
from .publish import registry_flags


def add_parser(sub: Any, name: str) -> None:
    p = sub.add_parser(
        name, help="save LMEvalJobs (and Prometheus series, registry answers, GuideLLM "
                   "reports) into a snapshot",
        description="Write a snapshot folder: the raw LMEvalJob list as the API returned it, "
                    "per-sample files from a local folder, Prometheus answers, Model Registry "
                    "answers, GuideLLM reports, and a manifest. "
                    "Written privately beside --out and moved into place at the end; every "
                    "flag is checked before the first network call.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--namespace", "-n", required=True, type=A.namespace,
                   help="namespace of the LMEvalJobs")
    p.add_argument("--out", required=True, type=A.folder, help="snapshot folder to create")
    p.add_argument("--samples", type=A.existing_folder,
                   help="local lm-eval output folder or mounted PVC with samples_*.jsonl")
    p.add_argument("--selector", "-l", dest="label_selector", help="label selector for the jobs")
    p.add_argument("--context", help="kubeconfig context (default: current)")
    p.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    p.add_argument("--token-file", type=A.token_file,
                   help="file holding a bearer token for the Kubernetes API")
    p.add_argument("--ca-bundle", type=A.token_file,
                   help="CA bundle for TLS verification (or $EVALKIT_CA_BUNDLE)")
    p.add_argument("--insecure", action="store_true",
                   help="DISABLE TLS verification (recorded in the manifest; avoid)")
    g = p.add_argument_group("Prometheus / Thanos / Mimir")
    g.add_argument("--prometheus", help="API root URL (or $EVALKIT_PROMETHEUS_URL, used when "
                   "--model is given)")
    g.add_argument("--prometheus-token-file", type=A.token_file,
                   help="file with the bearer token (or $EVALKIT_PROMETHEUS_TOKEN / "
                   "$EVALKIT_PROMETHEUS_TOKEN_FILE)")
    g.add_argument("--prometheus-service-account", action="store_true",
                   help="send this pod's service-account token to --prometheus (https only)")
    g.add_argument("--prometheus-tenant", metavar="NS",
                   help="Thanos tenancy namespace (thanos-querier port 9092 needs ?namespace=)")
    g.add_argument("--prometheus-header", action="append", default=[], type=A.header,
                   metavar="'NAME: VALUE'",
                   help="extra header, e.g. 'X-Scope-OrgID: tenant' for Mimir (repeat; values "
                   "are treated as secrets, only names are recorded)")
    g.add_argument("--model", action="append", default=[], type=A.model_selector,
                   metavar="NAME=SELECTOR",
                   help="a served model and its PromQL label selector, e.g. "
                   "mistral-24b='namespace=\"ns\",pod=~\"mistral-24b-predictor.*\"' (repeat)")
    g.add_argument("--start", type=A.time, help="window start (RFC 3339 or unix seconds; "
                   "default: one hour before --end)")
    g.add_argument("--end", type=A.time, help="window end (RFC 3339 or unix seconds; "
                   "default: now)")
    g.add_argument("--since", type=A.duration, metavar="DURATION",
                   help="window length ending at --end, e.g. 7d, 24h, 90m (instead of --start)")
    g.add_argument("--step", default="30s", type=A.duration, help="query step (default 30s)")
    registry_flags(p, url_help="registry REST root URL (or $EVALKIT_REGISTRY_URL, used when "
                   "--registry-model is given); saves the raw answers under registry/",
                   model_help="given, only these registered models are read")
    g = p.add_argument_group("GuideLLM load tests")
    g.add_argument("--guidellm", type=A.existing_path, metavar="PATH",
                   help="a GuideLLM report (benchmarks.json/.yaml) or a folder of them: copied "
                   "into guidellm/ (credentials in the backend settings redacted); the model of "
                   "each report is its backend model name")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing --out folder, only if it is an evalkit snapshot")
    p.add_argument("--config", type=A.existing_file, metavar="FILE",
                   help="YAML file of defaults for these flags, keyed by flag name without "
                   "dashes (prometheus: URL, model: {NAME: SELECTOR}, registry: URL, since: "
                   "7d, ...); flags on the command line win; tokens only as *-token-file paths")


def run(args: argparse.Namespace) -> int:
    from ..collect import pull
    from ..core.auth import TokenFile
    from ..core.errors import InputError

    prometheus = args.prometheus or (os.environ.get("EVALKIT_PROMETHEUS_URL")
                                     if args.model else None)
    if args.model and not prometheus:
        raise InputError("--model needs --prometheus URL (or $EVALKIT_PROMETHEUS_URL)")
    if args.prometheus and not args.model:
        raise InputError("--prometheus needs at least one --model NAME=SELECTOR")
    if args.since and args.start is not None:
        raise InputError("give --since or --start, not both")
    if args.since:
        import time

        from ..core.timeutil import step_to_ms

        end = args.end if args.end is not None else time.time()
        args.start, args.end = end - step_to_ms(args.since) / 1000, end
    registry = args.registry or (os.environ.get("EVALKIT_REGISTRY_URL")
                                 if args.registry_model else None)
    if args.registry_model and not registry:
        raise InputError("--registry-model needs --registry URL (or $EVALKIT_REGISTRY_URL)")
    # the target checked as named (a symlink is refused, not followed), then every token
    # channel (line breaks, the service account over http) — all before the first network call
    from ..core.snapshot import check_target, target_path

    check_target(target_path(args.out), overwrite=args.overwrite)
    A.check_auth(prometheus, args.prometheus_token_file, "EVALKIT_PROMETHEUS",
                args.prometheus_service_account, "--prometheus")
    A.check_auth(registry, getattr(args, "registry_token_file", None), "EVALKIT_REGISTRY",
                getattr(args, "registry_service_account", False), "--registry")
    out = pull(
        args.out, namespace=args.namespace, label_selector=args.label_selector,
        context=args.context, kubeconfig=args.kubeconfig, samples=args.samples,
        token=TokenFile(args.token_file) if args.token_file else None,
        ca_bundle=args.ca_bundle, insecure=args.insecure,
        prometheus=prometheus,
        prometheus_token=(TokenFile(args.prometheus_token_file)
                          if args.prometheus_token_file else None),
        prometheus_tenant=args.prometheus_tenant,
        prometheus_headers=dict(args.prometheus_header) or None,
        prometheus_service_account=args.prometheus_service_account,
        selectors=dict(args.model) or None, start=args.start, end=args.end, step=args.step,
        registry=registry,
        registry_token=(TokenFile(args.registry_token_file)
                        if args.registry_token_file else None),
        registry_models=dict(args.registry_model) or None,
        registry_service_account=args.registry_service_account,
        guidellm=args.guidellm, overwrite=args.overwrite)
    print(f"snapshot {out}")
    return 0
