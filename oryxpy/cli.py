"""The ``oryxpy`` command: run | batch | speed | serving | kafka-setup | kafka-tail | kafka-input | demo-data."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
from collections.abc import Sequence

from oryxpy import validation
from oryxpy.config import Config, load_config
from oryxpy.errors import ConfigError, OryxError
from oryxpy.malloc import prepare_allocators

log = logging.getLogger("oryxpy")

LAYERS = {"batch": "batch.layer", "speed": "speed.layer", "serving": "serving.layer", "run": "oryxpy.supervisor"}


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--conf", metavar="FILE", help="TOML config file (see conf/reference.toml)")
    common.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="sets",
                        help="override one config key; repeatable")
    common.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser = argparse.ArgumentParser(prog="oryxpy", description="Lambda-architecture recommender after Oryx 2")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", parents=[common], help="run batch, speed and serving together (embedded by default)")
    batch = sub.add_parser("batch", parents=[common], help="run the batch layer")
    batch.add_argument("--print-spark-submit", metavar="DIR", help="spark engine: write the job, its config and "
                       "--py-files archive into DIR and print the spark-submit command instead of running it")
    sub.add_parser("speed", parents=[common], help="run the speed layer")
    sub.add_parser("serving", parents=[common], help="run the serving layer (REST API)")
    sub.add_parser("kafka-setup", parents=[common], help="create the input and update topics")
    tail = sub.add_parser("kafka-tail", parents=[common], help="print messages of both topics as they arrive")
    tail.add_argument("--from-beginning", action="store_true", help="start at the earliest retained message")
    tail.add_argument("--max-messages", type=int, default=0, help="stop after this many messages (0: run until Ctrl-C)")
    tail.add_argument("--idle-timeout-sec", type=float, default=0, help="stop after this long without messages (0: never)")
    send = sub.add_parser("kafka-input", parents=[common], help="send interactions (user,item[,strength[,ts]]) to the input topic")
    send.add_argument("--input-file", metavar="FILE", help="file of lines to send (default: standard input)")
    send.add_argument("--tsv", action="store_true",
                      help="lines are tab-separated like MovieLens u.data (user, item, rating, time)")
    send.add_argument("--seconds", action="store_true", help="timestamps are in seconds; convert them to milliseconds")
    demo = sub.add_parser("demo-data", parents=[common], help="write sample interactions (taste groups, popularity skew) as CSV")
    demo.add_argument("--users", type=int, default=500)
    demo.add_argument("--items", type=int, default=300)
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--output", metavar="FILE", help="file to write (default: standard output)")
    return parser


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s [%(name)s] %(message)s", stream=sys.stderr)
    if level != "DEBUG":  # kafka-python logs every retry; our errors say what failed once
        logging.getLogger("kafka").setLevel(logging.CRITICAL)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging(args.log_level)
    try:
        config = load_config(args.conf, args.sets)
        validation.configure(config)  # the record rules (ID limit) of every layer and of kafka-input
        if getattr(args, "print_spark_submit", None):
            from batch.spark.submit import print_spark_submit

            print_spark_submit(config, args.print_spark_submit)
        elif args.command in LAYERS:
            if args.command == "serving":
                prepare_allocators()  # before numpy and Arrow load (oryxpy.malloc)
            from oryxpy.identity import resolve_identity

            importlib.import_module(LAYERS[args.command]).run(resolve_identity(config))
        elif args.command == "kafka-setup":
            from oryxpy.topics import setup_topics

            for line in setup_topics(config):
                print(line)  # noqa: T201
        elif args.command == "kafka-tail":
            tail_topics(config, args.from_beginning, args.max_messages, args.idle_timeout_sec)
        elif args.command == "kafka-input":
            from oryxpy.bulk import send_input_file

            send_input_file(config, args.input_file, tsv=args.tsv, seconds=args.seconds)
        elif args.command == "demo-data":
            from oryxpy.demo import write_demo

            if args.output:
                with open(args.output, "w", encoding="utf-8") as out:
                    count = write_demo(out, users=args.users, items=args.items, seed=args.seed)
                print(f"wrote {count} interactions to {args.output}", file=sys.stderr)  # noqa: T201
            else:
                write_demo(sys.stdout, users=args.users, items=args.items, seed=args.seed)
        return 0
    except KeyboardInterrupt:
        return 130
    except ConfigError as exc:
        print(f"oryxpy: configuration error: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except OryxError as exc:
        print(f"oryxpy: error: {exc}", file=sys.stderr)  # noqa: T201
        return 1


def tail_topics(config: Config, from_beginning: bool, max_messages: int, idle_timeout_s: float) -> None:
    """Print ``topic<TAB>key<TAB>value`` for each message of the input and update topics."""
    from oryxpy.topics import open_consumer

    roles = ["input"] + (["update"] if config.settings.update_topic.broker is not None else [])
    consumers = [open_consumer(config, role, None, "earliest" if from_beginning else "latest") for role in roles]
    seen, last = 0, time.monotonic()
    try:
        for consumer in consumers:
            consumer.wait_ready()
        while True:
            for consumer in consumers:
                for record in consumer.poll(timeout_s=0.2):
                    print(f"{record.topic}\t{record.key}\t{record.value}", flush=True)  # noqa: T201
                    seen, last = seen + 1, time.monotonic()
                    if max_messages and seen >= max_messages:
                        return
            if idle_timeout_s and time.monotonic() - last > idle_timeout_s:
                return
    finally:
        for consumer in consumers:
            consumer.close()


if __name__ == "__main__":
    sys.exit(main())
