"""scripts/load_content.py: MovieLens and JSON-lines content to the input topic; a bad line sends nothing."""

from __future__ import annotations

from pathlib import Path

from oryxpy.config import Config
from oryxpy.content import parse_content_record
from scripts.load_content import main
from tests.conftest import embedded_config_at
from tests.serving.io_support import read_input, values


def _config(tmp_path: Path) -> tuple[Config, list[str]]:
    config = embedded_config_at(tmp_path / "state", **{"oryx.input-topic.partitions": 1})
    return config, ["--set", f"oryx.embedded.state-dir={tmp_path / 'state'}", "--set", "oryx.input-topic.partitions=1"]


def test_movielens_folder(tmp_path: Path) -> None:
    config, sets = _config(tmp_path)
    (tmp_path / "movies.csv").write_text('movieId,title,genres\n1,"Toy Story (1995)",Animation|Comedy\n2,X,(no genres listed)\n')
    (tmp_path / "tags.csv").write_text("userId,movieId,tag,timestamp\n5,1,Pixar,1\n6,1,pixar ,2\n")
    assert main([*sets, "--movielens", str(tmp_path)]) == 0
    first, second = (parse_content_record(v) for v in values(read_input(config, 2, settle_s=0.1)))
    assert first.item == "1" and first.attributes == {"title": "Toy Story (1995)", "genres": ["Animation", "Comedy"],
                                                      "tags": ["pixar"]}
    assert second.attributes == {"title": "X", "genres": []}


def test_bad_jsonl_line_sends_nothing(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    config, sets = _config(tmp_path)
    path = tmp_path / "items.jsonl"
    path.write_text('{"item": "a", "content": {"title": "ok"}}\n\n{"item": "b", "content": {"x": {}}}\n')
    assert main([*sets, "--jsonl", str(path)]) == 1
    assert "items.jsonl:3: content of item 'b'" in capsys.readouterr().err
    assert read_input(config, 0, settle_s=0.1) == []
