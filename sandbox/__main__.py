"""Command line: run the Mirakl sandbox until Ctrl-C or SIGTERM.

From the repository root::

    python3 -m sandbox --port 18069 --api-key k --orders 3

prints one line with the URL, then logs every request on stderr in one short
line. Options map onto the configuration keys of ``state.DEFAULT_CONFIG``
(``--debit-delay`` = ``debit_delay_seconds``, ``--acceptance-window-hours``,
``--partial-acceptance`` / ``--no-partial-acceptance``); ``/_sandbox/reset``
returns to them.
"""

import argparse
import logging
import signal
import sys
import threading

from .server import SandboxServer


def _parser():
    parser = argparse.ArgumentParser(
        prog="python3 -m sandbox", description="Run the Mirakl seller API sandbox."
    )
    parser.add_argument("--api-key", required=True, help="the shop API key")
    parser.add_argument(
        "--port", type=int, default=0, help="port on 127.0.0.1 (0: a free port)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address")
    parser.add_argument(
        "--orders", type=int, default=10, help="orders waiting for acceptance"
    )
    parser.add_argument("--shop-id", type=int, default=2001)
    parser.add_argument("--seed", type=int, default=42, help="seed of the data")
    parser.add_argument(
        "--debit-delay",
        type=float,
        metavar="SECONDS",
        help="seconds from acceptance to SHIPPING (default 0)",
    )
    parser.add_argument(
        "--acceptance-window-hours",
        type=float,
        metavar="H",
        help="hours before unaccepted orders are refused (default 72)",
    )
    parser.add_argument(
        "--partial-acceptance",
        action=argparse.BooleanOptionalAction,
        help="allow accepting some lines and refusing others (default off)",
    )
    return parser


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    config = {
        key: value
        for key, value in (
            ("debit_delay_seconds", args.debit_delay),
            ("acceptance_window_hours", args.acceptance_window_hours),
            ("partial_acceptance", args.partial_acceptance),
        )
        if value is not None
    }
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("mirakl_sandbox")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        server = SandboxServer(
            api_key=args.api_key,
            shop_id=args.shop_id,
            host=args.host,
            port=args.port,
            orders=args.orders,
            seed=args.seed,
            config=config,
        ).start()
    except (OSError, TypeError, ValueError) as exc:
        parser.exit(2, "python3 -m sandbox: error: %s\n" % exc)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_args: stopping.set())
    sys.stdout.write("Mirakl sandbox listening on %s\n" % server.url)
    sys.stdout.flush()
    while not stopping.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
