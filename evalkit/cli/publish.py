"""``evalkit publish``: eval results onto Model Registry versions and/or lm_eval_* metrics to a
Pushgateway.

Every flag is checked — and the source loaded, which is local — before the first network call.
Exit codes: 0 done (data issues included), 1 a remote call failed or a registry write could not
be verified / a version was skipped, 2 unusable input.

>>> registry_model("mistral-24b-quantized=mistral-24b-quantized:1.0")
('mistral-24b-quantized', ('mistral-24b-quantized', '1.0'))
>>> grouping("namespace=private-ai-demo")
('namespace', 'private-ai-demo')
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from . import args as A


def url(text: str) -> str:
    """An http(s) root URL."""
    from ..core.errors import InputError
    from ..core.settings import check_url

    try:
        return check_url(text, "endpoint")
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def registry_flags(p: argparse.ArgumentParser, *, url_help: str,
                   model_help: str) -> argparse._ArgumentGroup:
    """The Model Registry flags ``publish`` and ``pull`` share; returns their group."""
    g = p.add_argument_group("Model Registry")
    g.add_argument("--registry", type=url, help=url_help)
    g.add_argument("--registry-token-file", type=A.token_file,
                   help="file with the bearer token (or $EVALKIT_REGISTRY_TOKEN / "
                   "$EVALKIT_REGISTRY_TOKEN_FILE)")
    g.add_argument("--registry-service-account", action="store_true",
                   help="send this pod's service-account token to --registry (https only)")
    g.add_argument("--registry-model", action="append", default=[], type=registry_model,
                   metavar="NAME=REGISTERED[:VERSION]",
                   help="served model -> registered model and version (repeat; default: same "
                   f"name, latest LIVE version; {model_help})")
    return g


def registry_model(text: str) -> tuple[str, tuple[str, str | None]]:
    """``NAME=REGISTERED[:VERSION]``: a served model and its registered model (and version;
    the latest LIVE one when left out)."""
    from ..core.errors import InputError
    from ..registry.mapping import parse_target

    name, sep, target = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=REGISTERED[:VERSION], e.g. "
                                         "mistral-24b-quantized=mistral-24b-quantized:1.0")
    try:
        return name.strip(), parse_target(target)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def grouping(text: str) -> tuple[str, str]:
    """``LABEL=VALUE`` of the Pushgateway grouping key."""
    import re

    name, sep, value = text.partition("=")
    if not sep or not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name) or name == "job":
        raise argparse.ArgumentTypeError(f"{text!r}: expected LABEL=VALUE with a label name "
                                         "(not 'job': use --push-job)")
    return name, value


def add_parser(sub: Any, name: str) -> None:
    p = sub.add_parser(
        name, help="write eval results onto Model Registry versions and/or push lm_eval_* "
                   "metrics to a Pushgateway",
        description="Publish the latest lm-eval results per model and task of --source. "
                    "Registry: read every target version, merge the eval_* properties into its "
                    "custom properties (nothing else changes), PATCH only versions whose map "
                    "changes, re-read and verify. Pushgateway: PUT the lm_eval_* exposition "
                    "(the scraping Prometheus needs honor_labels: true). --dry-run reads and "
                    "prints the plan, writes nothing.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", required=True, type=A.source,
                   help="snapshot folder, `oc get lmevaljob -o json` dump or lm-eval results")
    p.add_argument("--dry-run", action="store_true", help="plan and print; write nothing")
    p.add_argument("--ca-bundle", type=A.token_file,
                   help="CA bundle for TLS verification (or $EVALKIT_CA_BUNDLE)")
    p.add_argument("--insecure", action="store_true",
                   help="DISABLE TLS verification (avoid)")
    g = registry_flags(p, url_help="registry REST root URL (https://<registry>-rest.<apps "
                       "domain>)", model_help="given, only these models are written")
    g.add_argument("--prefix", default="eval_", help="property name prefix (default eval_)")
    g.add_argument("--no-stderr", action="store_true", help="leave out the _stderr properties")
    g = p.add_argument_group("Pushgateway")
    g.add_argument("--pushgateway", type=url, help="Pushgateway URL, e.g. http://pushgateway:9091")
    g.add_argument("--push-job", default="lmeval", help="job of the grouping key (default lmeval)")
    g.add_argument("--grouping", action="append", default=[], type=grouping,
                   metavar="LABEL=VALUE", help="extra grouping label (repeat)")
    g.add_argument("--pushgateway-token-file", type=A.token_file,
                   help="file with a bearer token for the Pushgateway (or "
                   "$EVALKIT_PUSHGATEWAY_TOKEN / $EVALKIT_PUSHGATEWAY_TOKEN_FILE)")
    g.add_argument("--baseline", help="with --candidate: also push lm_eval_accuracy_delta and "
                   "lm_eval_recovery_percent")
    g.add_argument("--candidate", action="append", dest="candidates", metavar="CANDIDATE")


def run(args: argparse.Namespace) -> int:
    from ..bundle import load
    from ..core.auth import TokenFile
    from ..core.errors import InputError, UnknownModelError
    from ..publish.pushgateway import TOKEN_ENV
    from ..registry.scores import check_prefix

    if not args.registry and not args.pushgateway:
        raise InputError("nothing to publish to: give --registry URL and/or --pushgateway URL")
    if args.registry_model and not args.registry:
        raise InputError("--registry-model needs --registry URL")
    if bool(args.baseline) != bool(args.candidates):
        raise InputError("--baseline and --candidate go together")
    if (args.baseline or args.grouping) and not args.pushgateway:
        raise InputError("--baseline/--candidate/--grouping need --pushgateway URL")
    check_prefix(args.prefix)
    # the credentials each endpoint will get, refused here rather than between two writes
    A.check_auth(args.registry, args.registry_token_file, "EVALKIT_REGISTRY",
                 args.registry_service_account, "--registry")
    A.check_auth(args.pushgateway, args.pushgateway_token_file, TOKEN_ENV, False,
                 "--pushgateway")
    bundle = load(args.source)
    scores = bundle.lmeval.scores
    present = sorted({str(m) for m in scores["model"].dropna()})
    wanted = [m for m, _ in args.registry_model] + ([args.baseline, *args.candidates]
                                                    if args.baseline else [])
    for name in wanted:
        if name not in present:
            raise UnknownModelError(f"model {name!r} is not in {args.source}; models present: "
                                    f"{', '.join(present) or '(none)'}")
    code = 0
    if args.registry:
        code = max(code, _registry(args, scores, bundle.source))
    if args.pushgateway:
        _push(args, scores, TokenFile)
    return code


def _registry(args: argparse.Namespace, scores: Any, source: str) -> int:
    from ..core.auth import TokenFile
    from ..registry.write import publish_scores

    res = publish_scores(
        args.registry, scores, versions=dict(args.registry_model) or None,
        prefix=args.prefix, include_stderr=not args.no_stderr, dry_run=args.dry_run,
        source=os.path.basename(os.path.normpath(source)) or source,
        token=TokenFile(args.registry_token_file) if args.registry_token_file else None,
        service_account=args.registry_service_account, ca_bundle=args.ca_bundle,
        insecure=args.insecure)
    print(res.table())
    return 0 if res.ok else 1


def _push(args: argparse.Namespace, scores: Any, token_file: Any) -> None:
    from ..publish import exposition, push

    comparison = recovery = None
    if args.baseline:
        from ..analysis.compare import compare
        from ..analysis.recovery import recovery as recover

        comparison = compare(scores, args.baseline, args.candidates)
        recovery = recover(scores, args.baseline, args.candidates)
    if args.dry_run:
        print(f"pushgateway {args.pushgateway}: DRY RUN, would PUT:")
        print(exposition(scores, comparison=comparison, recovery=recovery), end="")
        return
    text = push(scores, args.pushgateway, job=args.push_job, grouping=dict(args.grouping) or None,
                comparison=comparison, recovery=recovery, ca_bundle=args.ca_bundle,
                insecure=args.insecure,
                token=token_file(args.pushgateway_token_file)
                if args.pushgateway_token_file else None)
    n = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    print(f"pushgateway {args.pushgateway}: {n} sample(s) pushed under job {args.push_job!r}")
