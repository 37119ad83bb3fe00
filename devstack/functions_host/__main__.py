"""``python -m devstack.functions_host --app-dir DIR [--port N] [--setting KEY=VALUE ...]``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from devstack.functions_host.config import HostConfigError, load_app_settings, load_host_options
from devstack.functions_host.host import HostSettings, LocalHost
from devstack.functions_host.indexing import load_function_app
from devstack.functions_host.logs import configure_logging
from devstack.processes import port_is_open


def _setting(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--setting needs KEY=VALUE, got {text!r}")
    return key, value


def main(argv: list[str] | None = None) -> int:
    """Load the app and run the host until stopped; plain messages for configuration errors."""
    parser = argparse.ArgumentParser(prog="python -m devstack.functions_host", description=__doc__)
    parser.add_argument("--app-dir", type=Path, default=Path.cwd(), help="folder with function_app.py")
    parser.add_argument(
        "--port", type=int, default=None, help="HTTP port (default: Host.LocalHttpPort or 7071)"
    )
    parser.add_argument(
        "--setting",
        type=_setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="app setting overriding local.settings.json and the environment (repeatable)",
    )
    args = parser.parse_args(argv)
    app_dir: Path = args.app_dir.resolve()
    if not app_dir.is_dir():
        print(f"error: app directory {app_dir} does not exist", file=sys.stderr)
        return 2
    try:
        settings, host_section = load_app_settings(app_dir, dict(args.setting), os.environ)
        options = load_host_options(app_dir, settings)
        # Functions read their settings from the environment, as in Azure.
        os.environ.update(settings)
        configure_logging(options)
        os.chdir(app_dir)
        functions = load_function_app(app_dir, settings)
    except HostConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    port = args.port or int(host_section.get("LocalHttpPort", 7071))
    if port_is_open(port):
        print(f"error: port {port} is already in use: stop what uses it or pass --port", file=sys.stderr)
        return 2
    host = LocalHost(
        HostSettings(app_dir=app_dir, port=port, settings=settings, options=options, functions=functions)
    )
    return asyncio.run(host.serve())


if __name__ == "__main__":
    sys.exit(main())
