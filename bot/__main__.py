"""The local runtime.

python -m bot demo   the whole flow offline against a local Slack stand-in (make demo)
python -m bot dev    Socket Mode against a real workspace, with the local backends (make dev)
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from processing_job.models import TINY_MODEL


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="videobot's local runtime")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the whole flow offline and print the thread")
    demo.add_argument("--idea", default="a red fox running through snow")
    demo.add_argument("--refinement", default="make it night, with a slower camera")
    demo.add_argument(
        "--model", default=TINY_MODEL, help="a registry model; real ones need a GPU and weights"
    )
    demo.add_argument("--home", type=Path, default=Path("var/demo"))
    demo.add_argument("--model-cache", type=Path, default=Path("var/models"))
    commands.add_parser("dev", help="Socket Mode against a real workspace (SLACK_BOT_TOKEN, SLACK_APP_TOKEN)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    if args.command == "demo":
        from bot.demo import run_demo

        run_demo(
            idea=args.idea,
            refinement=args.refinement,
            model=args.model,
            home=args.home,
            model_cache=args.model_cache,
        )
        return 0
    return run_dev()


def run_dev() -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import build_app
    from bot.config import ConfigError, Settings
    from bot.services import build_services

    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    missing = [
        name
        for name, value in (
            ("SLACK_BOT_TOKEN", settings.slack_bot_token),
            ("SLACK_APP_TOKEN", settings.slack_app_token),
        )
        if not value
    ]
    if missing:
        print(
            f"error: set {' and '.join(missing)} (see README: 'Run it in your workspace').",
            file=sys.stderr,
        )
        return 2
    logging.getLogger("bot").setLevel(logging.INFO)
    services = build_services(settings)
    try:
        SocketModeHandler(build_app(services), settings.slack_app_token).start()
    finally:
        services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
