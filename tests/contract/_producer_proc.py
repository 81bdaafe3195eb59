"""Child process for the topic contract tests: sends numbered messages, printing each sequence number once acknowledged."""

from __future__ import annotations

import json
import sys

from oryxpy.config import load_config
from oryxpy.topics import open_producer


def main() -> None:
    sets, name, count = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    config = load_config(environ={}, sets=sets)
    producer = open_producer(config, "input")
    for seq in range(count):
        producer.send(name, f"{name},{seq}")
        print(seq, flush=True)
    producer.close()


if __name__ == "__main__":
    main()
