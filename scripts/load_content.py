"""Send item content to the input topic: a JSON-lines file of content records, or MovieLens movies.csv (+ tags.csv)."""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from oryxpy.config import load_config
from oryxpy.content import ItemContent, content_record, parse_content_record, validate_content
from oryxpy.errors import OryxError
from oryxpy.topics import input_message_key, open_producer

CHUNK = 10_000


def movielens_contents(folder: Path) -> Iterator[ItemContent]:
    """Title and genres from movies.csv, tags (distinct, lower-cased) from tags.csv when present."""
    tags: dict[str, set[str]] = defaultdict(set)
    if (folder / "tags.csv").exists():
        with open(folder / "tags.csv", encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                tags[row["movieId"]].add(row["tag"].strip().lower())
    with open(folder / "movies.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            genres = [g for g in row["genres"].split("|") if g and g != "(no genres listed)"]
            attributes: dict[str, object] = {"title": row["title"], "genres": genres}
            if tags.get(row["movieId"]):
                attributes["tags"] = sorted(tags[row["movieId"]])
            yield validate_content(row["movieId"], attributes)


def jsonl_contents(path: Path) -> Iterator[ItemContent]:
    """One content record per line; a bad line stops the load with its line number."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield parse_content_record(line)
                except OryxError as exc:
                    raise OryxError(f"{path}:{number}: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conf", help="TOML config file")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--jsonl", type=Path, help='file of {"item": ID, "content": {...}} lines')
    source.add_argument("--movielens", type=Path, help="MovieLens folder with movies.csv (and tags.csv)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.conf, args.set)
        contents = movielens_contents(args.movielens) if args.movielens else jsonl_contents(args.jsonl)
        records = [content_record(c) for c in contents]  # validate everything before sending anything
        with open_producer(config, "input") as producer:
            for start in range(0, len(records), CHUNK):
                producer.send_all([(input_message_key(r), r) for r in records[start:start + CHUNK]])
    except OryxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"sent {len(records)} content records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
