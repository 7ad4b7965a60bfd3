"""``evalkit pull``: save LMEvalJobs (and Prometheus series) into a snapshot folder."""

from __future__ import annotations

import argparse
import os
from typing import Any

from . import args as A


def add_parser(sub: Any, name: str) -> None:
    p = sub.add_parser(
        name, help="save LMEvalJobs (and Prometheus series) from the cluster into a snapshot",
        description="Write a snapshot folder: the raw LMEvalJob list as the API returned it, "
                    "per-sample files from a local folder, Prometheus answers, and a manifest. "
                    "Written privately beside --out and moved into place at the end; every "
                    "flag is checked before the first network call.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--namespace", "-n", required=True, help="namespace of the LMEvalJobs")
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
    g.add_argument("--step", default="30s", type=A.duration, help="query step (default 30s)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing --out folder, only if it is an evalkit snapshot")


def run(args: argparse.Namespace) -> int:
    from ..core.auth import TokenFile
    from ..core.errors import InputError
    from ..collect import pull

    prometheus = args.prometheus or (os.environ.get("EVALKIT_PROMETHEUS_URL")
                                     if args.model else None)
    if args.model and not prometheus:
        raise InputError("--model needs --prometheus URL (or $EVALKIT_PROMETHEUS_URL)")
    if args.prometheus and not args.model:
        raise InputError("--prometheus needs at least one --model NAME=SELECTOR")
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
        overwrite=args.overwrite)
    print(f"snapshot {out}")
    return 0
