"""Run the emulator: ``python -m devstack.servicebus_emulator --config FILE --port N [--data DIR]``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from types import FrameType

from proton.reactor import Container

from devstack.servicebus_emulator.broker import Broker
from devstack.servicebus_emulator.config import ConfigError, load_config
from devstack.servicebus_emulator.persistence import MemoryPersistence, Persistence, SqlitePersistence

log = logging.getLogger("servicebus_emulator")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, serve until SIGTERM or SIGINT, and return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m devstack.servicebus_emulator", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="Config.json of the official emulator")
    parser.add_argument("--port", type=int, default=5672, help="TCP port (default 5672)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--data", type=Path, help="folder for the durable store; in memory when omitted")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        queues = load_config(args.config)
    except ConfigError as err:
        print(f"servicebus emulator: {err}", file=sys.stderr)
        return 2
    store: Persistence
    if args.data:
        sqlite_store = SqlitePersistence(args.data / "servicebus.sqlite")
        store = sqlite_store
    else:
        sqlite_store = None
        store = MemoryPersistence()
    try:
        broker = Broker(queues, store)
    except ValueError as err:
        print(f"servicebus emulator: {args.config}: {err}", file=sys.stderr)
        return 2

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received signal %s", signal.Signals(signum).name)
        broker.request_shutdown()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    container = Container(broker)
    try:
        container.listen(f"{args.host}:{args.port}")
    except Exception as err:  # proton raises its own IOError subclasses on bind failures
        print(f"servicebus emulator: cannot listen on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 2
    log.info(
        "listening on amqp://%s:%s with queues %s (%s)",
        args.host,
        args.port,
        ", ".join(q.name for q in queues) or "(none)",
        f"data in {args.data}" if args.data else "in memory",
    )
    container.run()
    if sqlite_store is not None:
        sqlite_store.close()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
