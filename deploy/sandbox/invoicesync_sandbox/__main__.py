"""Run one provider stand-in: `python -m invoicesync_sandbox <keap|xero|qbo> [--port N]`."""

import argparse
import importlib

from werkzeug.serving import run_simple

DEFAULT_PORTS = {"keap": 8901, "xero": 8902, "qbo": 8903}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="invoicesync_sandbox")
    parser.add_argument("provider", choices=sorted(DEFAULT_PORTS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    module = importlib.import_module(f"invoicesync_sandbox.{args.provider}.app")
    port = args.port or DEFAULT_PORTS[args.provider]
    run_simple(args.host, port, module.create_app(), threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
