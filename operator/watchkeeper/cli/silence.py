"""``watchkeeper silence create | expire | list``: Silences, as amtool handles them."""

from __future__ import annotations

import argparse
import asyncio
import getpass
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from watchkeeper.api.common import describe_validation_error
from watchkeeper.api.silence import SilenceSpec
from watchkeeper.api.timestamps import format_time, parse_time
from watchkeeper.cli.ack import context_namespace
from watchkeeper.cli.errors import CommandError
from watchkeeper.engine.silences import Silence

if TYPE_CHECKING:
    from watchkeeper.kube.silences import SilenceStore


def _store() -> SilenceStore:
    from watchkeeper.kube.client import Kube
    from watchkeeper.kube.silences import SilenceStore

    return SilenceStore(Kube.connect().api_client)


def _run(
    work: Callable[[argparse.Namespace], Coroutine[Any, Any, int]],
) -> Callable[[argparse.Namespace], int]:
    """The command; an invalid silence is one line naming the field (other failures are
    explained by watchkeeper.cli.errors)."""

    def handler(args: argparse.Namespace) -> int:
        args.namespace = getattr(args, "namespace", None) or context_namespace()
        try:
            return asyncio.run(work(args))
        except ValidationError as error:
            raise CommandError(f"invalid silence: {describe_validation_error(error)}") from None

    return handler


async def _create(args: argparse.Namespace) -> int:
    spec: dict[str, Any] = {"matchers": args.matcher, "createdBy": args.by}
    if args.comment:
        spec["comment"] = args.comment
    if args.starts:
        spec["startsAt"] = args.starts
    spec["endsAt" if args.until else "duration"] = args.until or args.duration
    SilenceSpec.model_validate(spec)  # one line about what is wrong, before asking the server
    name = await _store().create(args.namespace, "silence-", spec)
    print(f"silence {name} created in namespace {args.namespace}")
    return 0


async def _expire(args: argparse.Namespace) -> int:
    store = _store()
    body = await store.get(args.namespace, args.name)
    now = datetime.now(UTC).replace(microsecond=0)
    patch: dict[str, Any] = {"endsAt": format_time(now), "duration": None}
    starts = (body.get("spec") or {}).get("startsAt")
    if starts and parse_time(starts) > now:  # a pending silence ends before it starts
        patch["startsAt"] = format_time(now)
    await store.patch(args.namespace, args.name, {"spec": patch})
    print(f"silence {args.name} expired")
    return 0


async def _list(args: argparse.Namespace) -> int:
    items = await _store().list(None if args.all_namespaces else args.namespace)
    now = datetime.now(UTC)
    rows = [("NAMESPACE", "NAME", "MATCHERS", "STATE", "STARTS", "ENDS", "CREATED BY", "COMMENT")]
    for item in items:
        metadata, spec = item["metadata"], item.get("spec") or {}
        try:
            created = parse_time(metadata["creationTimestamp"])
            silence = Silence.of(metadata["name"], SilenceSpec.model_validate(spec), created)
            times = (silence.state(now).value, format_time(silence.starts_at))
            shown = (*times, format_time(silence.ends_at))
        except (ValidationError, ValueError):
            shown = ("Invalid", "", "")
        matchers = ",".join(spec.get("matchers") or [])
        comment = (spec.get("comment") or "").splitlines()[:1]
        rows.append(
            (
                metadata["namespace"],
                metadata["name"],
                matchers,
                *shown,
                spec.get("createdBy", ""),
                comment[0] if comment else "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    silence = commands.add_parser("silence", help="create, expire or list Silences")
    verbs = silence.add_subparsers(dest="verb", required=True)

    create = verbs.add_parser("create", help="mute the alerts the matchers select")
    create.add_argument("--namespace", "-n", help="its namespace (default: the context's)")
    create.add_argument(
        "--matcher",
        "-m",
        action="append",
        required=True,
        help="label=value, label!=value, label=~regex or label!~regex; repeat for more",
    )
    end = create.add_mutually_exclusive_group()
    end.add_argument("--for", dest="duration", default="1h", help="how long (default 1h)")
    end.add_argument("--until", help="when it ends (RFC 3339) instead of --for")
    create.add_argument("--starts", help="when it starts (RFC 3339; default now)")
    create.add_argument("--by", default=getpass.getuser(), help="who silences (default: you)")
    create.add_argument("--comment", default="", help="why")
    create.set_defaults(handler=_run(_create))

    expire = verbs.add_parser("expire", help="end a Silence now")
    expire.add_argument("name", help="the Silence's name (watchkeeper silence list)")
    expire.add_argument("--namespace", "-n", help="its namespace (default: the context's)")
    expire.set_defaults(handler=_run(_expire))

    listing = verbs.add_parser("list", help="list Silences with their state")
    listing.add_argument("--namespace", "-n", help="their namespace (default: the context's)")
    listing.add_argument("--all-namespaces", "-A", action="store_true", help="every namespace")
    listing.set_defaults(handler=_run(_list))
