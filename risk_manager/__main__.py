"""Entry point: `python -m risk_manager run` / `risk-manager run`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from risk_manager import __version__
from risk_manager.paths import HOME_ENV, default_home


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="risk-manager",
        description="Risk Manager Daemon: enforces trading risk rules at the broker.",
        epilog="Exit codes: 0 stopped cleanly, 1 unexpected error, 2 invalid configuration, "
        "3 cannot start (port in use, already running, home not writable), 4 state database "
        "unusable and no backup to restore, 70 watchdog: event loop stalled.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the daemon in the foreground")
    run.add_argument(
        "--home", type=Path, default=None, help=f"home directory (default ${HOME_ENV} or per-OS)"
    )
    run.add_argument("--config", type=Path, default=None, help="config file (default HOME/config)")
    run.add_argument("--port", type=int, default=None, help="API port; 0 picks a free one")
    run.add_argument(
        "--allow-empty",
        action="store_true",
        help="start even if the config has no account or no enabled rule (enforces nothing)",
    )
    demo = commands.add_parser("demo", help="run a scripted trading session on the simulator")
    demo.add_argument("--home", type=Path, default=None, help="home to use (default: a temp dir)")
    demo.add_argument(
        "--keep", action="store_true", help="leave the daemon running and its home in place"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the daemon, return its exit code."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from risk_manager.demo import run_demo

        return run_demo(args.home, keep=args.keep)
    from risk_manager import logs
    from risk_manager.daemon import Daemon  # heavy imports only once arguments are valid

    logs.configure_console()
    daemon = Daemon(
        args.home or default_home(), args.config, args.port, allow_empty=args.allow_empty
    )
    return asyncio.run(daemon.run())


if __name__ == "__main__":
    sys.exit(main())
