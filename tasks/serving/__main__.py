"""python -m tasks.serving: the TF Serving REST API for the production model of the current problem.

Defaults from params.yaml (`serving.*`, `deploy.store`, `deploy.model_name`, else the problem's name); `--port 0`
picks a free port and prints it. Binds 127.0.0.1 unless `--host` says otherwise.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace

from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.serving.server import ServerSettings, build_app, serve
from tasks.store.location import store_from_params


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks.serving", description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--store", help="a folder or s3://bucket/prefix (default: deploy.store)")
    parser.add_argument("--model", help="model name (default: deploy.model_name, else the problem's name)")
    parser.add_argument("--host", help="default: serving.host (127.0.0.1)")
    parser.add_argument("--port", type=int, help="default: serving.port (8501); 0 picks a free port")
    parser.add_argument("--log-dir", help="prediction log folder or s3:// prefix; 'none' turns it off")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        params = Params.load(args.params)
        settings = ServerSettings.from_params(params)
        store = store_from_params(params, args.store, args.model)
    except PipelineError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    log_dir = settings.log_dir if args.log_dir is None else (None if args.log_dir == "none" else args.log_dir)
    settings = replace(
        settings,
        host=args.host or settings.host,
        port=settings.port if args.port is None else args.port,
        log_dir=log_dir,
    )
    app, _ = build_app(store, settings)

    def announce(port: int) -> None:
        print(f"serving {store.model_name} from {store.location} on http://{settings.host}:{port}", flush=True)

    serve(app, settings.host, settings.port, announce)
    return 0


if __name__ == "__main__":
    sys.exit(main())
