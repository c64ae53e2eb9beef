"""`iamcap`: serve the API, or answer the same questions offline (CI pipelines, no server)."""

from __future__ import annotations

import argparse
import json
import sys

from .capabilities import CAPABILITY_NAMES, Capability
from .catalog import CatalogError
from .config import CONFIG_DOC, Config, ConfigError
from .policy import PolicyForm, PolicyTooLarge


def _load_index():
    from .index import CapabilityIndex

    return CapabilityIndex.load()


def _print_json(value) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def cmd_serve(args) -> int:
    from .server import serve

    return serve(Config.from_env())


def cmd_policy(args) -> int:
    from .policy import build_deny_iam_admin

    sys.stdout.buffer.write(build_deny_iam_admin(_load_index(), PolicyForm(args.form)))
    return 0


def cmd_capabilities(args) -> int:
    index = _load_index()
    unknown = [s for s in args.service or () if index.service(s) is None]
    if unknown:
        raise UsageError(f"unknown service prefix: {', '.join(unknown)}")
    caps = [Capability(c) for c in args.capability] if args.capability else None
    _print_json(index.capability_map(args.service, caps))
    return 0


def cmd_explain(args) -> int:
    from .patterns import PatternError, compile_pattern
    from .views import action_view, match_view

    index = _load_index()
    if "*" in args.action or "?" in args.action:
        try:
            pattern = compile_pattern(args.action)
        except PatternError as exc:
            raise UsageError(str(exc)) from None
        _print_json(match_view([args.action], index.match([pattern])))
        return 0
    item = index.lookup(args.action)
    if item is None:
        print(f"iamcap: no action {args.action!r} in catalog {index.catalog_version}", file=sys.stderr)
        return 1
    _print_json(action_view(item))
    return 0


def cmd_openapi(args) -> int:
    from .web.app import contract_of, create_app

    sys.stdout.buffer.write(contract_of(create_app(_load_index())))
    return 0


def cmd_report(args) -> int:
    from .report import build_report

    sys.stdout.write(build_report(_load_index(), markdown=args.markdown))
    return 0


def cmd_summary(args) -> int:
    from .report import classification_summary

    _print_json(classification_summary(_load_index()))
    return 0


class UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    env_help = "\n".join(f"  {name:26} default {default:10} {meaning}" for name, default, meaning in CONFIG_DOC)
    parser = argparse.ArgumentParser(prog="iamcap", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve",
        help="serve the HTTP API",
        epilog="configuration, from the environment:\n" + env_help,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.set_defaults(func=cmd_serve)
    policy = sub.add_parser("policy", help="print a guardrail policy (the same bytes as the endpoint)")
    policy.add_argument("name", choices=["deny-iam-admin"])
    policy.add_argument("--form", choices=[f.value for f in PolicyForm], default=PolicyForm.PERMISSION_BOUNDARY.value)
    policy.set_defaults(func=cmd_policy)
    caps = sub.add_parser("capabilities", help="print the access-capability map, optionally filtered")
    caps.add_argument("--service", action="append", help="service prefix; repeatable")
    caps.add_argument("--capability", action="append", choices=CAPABILITY_NAMES, help="repeatable")
    caps.set_defaults(func=cmd_capabilities)
    explain = sub.add_parser("explain", help="an action's capabilities and why; patterns (iam:Create*) expand")
    explain.add_argument("action")
    explain.set_defaults(func=cmd_explain)
    openapi = sub.add_parser("openapi", help="print the OpenAPI contract")
    openapi.set_defaults(func=cmd_openapi)
    report = sub.add_parser("report", help="the classification report")
    report.add_argument("--markdown", action="store_true", help="markdown, as in docs/classification.md")
    report.set_defaults(func=cmd_report)
    summary = sub.add_parser("summary", help="the committed classification summary (tests/snapshots/)")
    summary.set_defaults(func=cmd_summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CatalogError, ConfigError, PolicyTooLarge, UsageError) as exc:
        print(f"iamcap: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `iamcap capabilities | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
