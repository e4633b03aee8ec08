"""The local runtime.

python -m bot demo       the whole flow offline against a local Slack stand-in (make demo)
python -m bot dev        Socket Mode against a real workspace, with the local backends (make dev)
python -m bot serve      the same app over HTTP (Slack's request URL, through a tunnel; or the stand-in)
python -m bot manifest   the Slack app manifest, with your request URL (or Socket Mode) filled in
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

from bot.services import HomeInUse
from processing_job.models import TINY_MODEL

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yml"
PLACEHOLDER_URL = "https://SlackRequestUrl.invalid/slack/events"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="videobot's local runtime")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the whole flow offline and print the threads")
    demo.add_argument("--idea", default="a red fox running through snow")
    demo.add_argument("--refinement", default="make it night, with a slower camera")
    demo.add_argument(
        "--model", default=TINY_MODEL, help="a registry model; real ones need a GPU and weights"
    )
    demo.add_argument("--home", type=Path, default=Path("var/demo"))
    demo.add_argument("--model-cache", type=Path, default=Path("var/models"))
    commands.add_parser("dev", help="Socket Mode against a real workspace (SLACK_BOT_TOKEN, SLACK_APP_TOKEN)")
    serve = commands.add_parser(
        "serve", help="HTTP on this machine, for Slack's request URL (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000, help="0: any free port (the URL is printed)")
    manifest = commands.add_parser("manifest", help="print manifest.yml, ready to paste into Slack")
    where = manifest.add_mutually_exclusive_group(required=True)
    where.add_argument("--request-url", help="the deployment's SlackRequestUrl (https://...)")
    where.add_argument("--socket-mode", action="store_true", help="for make dev: no public URL needed")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    if args.command == "demo":
        from bot.demo import run_demo

        try:
            run_demo(
                idea=args.idea,
                refinement=args.refinement,
                model=args.model,
                home=args.home,
                model_cache=args.model_cache,
            )
        except HomeInUse as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return 0
    if args.command == "manifest":
        try:
            print(filled_manifest(request_url=args.request_url, socket_mode=args.socket_mode), end="")
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return 0
    if args.command == "serve":
        return run_serve(args.host, args.port)
    return run_dev()


def filled_manifest(*, request_url: str | None = None, socket_mode: bool = False) -> str:
    """manifest.yml with the request URLs set (HTTP mode) or Socket Mode switched on."""
    text = MANIFEST.read_text("utf-8")
    if socket_mode:
        return text.replace("socket_mode_enabled: false", "socket_mode_enabled: true")
    if not request_url or not request_url.startswith("https://"):
        raise ValueError("the request URL must start with https:// (Slack only calls HTTPS URLs)")
    return text.replace(PLACEHOLDER_URL, request_url)


def bedrock_credentials_present() -> bool:
    """Whether boto3 finds AWS credentials here (env, profile, SSO...): then `make dev` uses Bedrock."""
    try:
        import boto3
    except ImportError:
        return False
    return boto3.Session().get_credentials() is not None


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
    if "VIDEOBOT_REFINER" not in os.environ and bedrock_credentials_present():
        settings = replace(settings, refiner="bedrock")
    refiner = (
        f"{settings.bedrock_model_id} on Bedrock (the offline refiner if it can't answer)"
        if settings.refiner == "bedrock"
        else "the offline refiner"
    )
    print(f"videobot: Socket Mode · renders with {settings.default_model} · prompts by {refiner}", flush=True)
    logging.getLogger("bot").setLevel(logging.INFO)
    try:
        services = build_services(settings)
    except HomeInUse as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        SocketModeHandler(build_app(services), settings.slack_app_token).start()
    finally:
        services.close()
    return 0


def run_serve(host: str, port: int) -> int:
    """The app over HTTP with the local backends, until interrupted (SIGINT or SIGTERM)."""
    import signal
    import threading

    from bot.app import build_app
    from bot.config import ConfigError, Settings
    from bot.local_server import LocalAppServer
    from bot.services import build_services

    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not (settings.slack_bot_token and settings.slack_signing_secret):
        print("error: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET.", file=sys.stderr)
        return 2
    logging.getLogger("bot").setLevel(logging.INFO)
    try:
        services = build_services(settings)
    except HomeInUse as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        with LocalAppServer(build_app(services), host, port) as server:
            print(f"videobot: serving {server.url} · home {settings.home}", flush=True)
            stop.wait()
    finally:
        services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
