"""Oryx 2.8 compatibility: the PMML version we write and read, the startup checks, Oryx's HashMap tie order."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from oryxpy.compat import check, check_model, warn_at_startup
from oryxpy.config import load_config
from oryxpy.errors import InvalidInput
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml, pmml_to_als_model, pmml_version
from serving.java_order import bucket_key, hashmap_capacity, java_string_hash
from tests.interop.oryx_process import free_port

KAFKA = "oryx.update-topic.broker=127.0.0.1:9092"
INFO = ALSModelInfo(features=2, implicit=True, x_ids=["u 1", "u2"], y_ids=["i,1"], lambda_=0.1, alpha=1.0)


def test_pmml_is_written_as_4_3_by_default_and_4_4_on_request() -> None:
    text = als_model_to_pmml(INFO)
    assert '<PMML xmlns="http://www.dmg.org/PMML-4_3" version="4.3">' in text and pmml_version(text) == "4.3"
    newer = als_model_to_pmml(INFO, "4.4")
    assert '<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">' in newer and pmml_version(newer) == "4.4"
    assert pmml_to_als_model(text) == pmml_to_als_model(newer) == INFO
    with pytest.raises(InvalidInput, match="PMML version '4.2'"):
        als_model_to_pmml(INFO, "4.2")


def test_pmml_of_other_versions_is_read() -> None:
    for ns, version in (("http://www.dmg.org/PMML-4_2", "4.2"), ("http://www.dmg.org/PMML-4_4", "4.4"), (None, None)):
        xmlns = f' xmlns="{ns}"' if ns else ""
        text = f'<PMML{xmlns}><Extension name="features" value="3"/><Extension name="implicit" value="false"/></PMML>'
        assert pmml_version(text) == version
        assert pmml_to_als_model(text).features == 3


def test_check_model_names_pmml_newer_than_oryx_reads() -> None:
    assert check_model(als_model_to_pmml(INFO)) is None
    assert "PMML 4.4" in (check_model(als_model_to_pmml(INFO, "4.4")) or "")
    assert check_model('<PMML version="x.y"><Extension name="features" value="3"/></PMML>') is not None


def test_check_flags_settings_that_break_oryx_on_kafka_only(caplog: pytest.LogCaptureFixture) -> None:
    assert check(load_config(environ={}, sets=[KAFKA])) == []
    broken = load_config(environ={}, sets=[KAFKA, "oryx.batch.publish-vectors=false",
                                           "oryx.batch.streaming.generation-interval-sec=86400"])
    problems = warn_at_startup(broken, "batch")
    assert len(problems) == 2 and "publish-vectors = false" in problems[0] and "retention-ms" in problems[1]
    assert caplog.text.count("batch layer: Oryx 2.8 compatibility") == 2
    # embedded topics cannot be shared with Oryx; the switch turns the checks off
    assert check(load_config(environ={}, sets=["oryx.batch.publish-vectors=false"])) == []
    assert check(broken.with_overrides({"oryx.compat.oryx-layers": False})) == []


def test_serving_start_warns_about_publish_vectors() -> None:
    """The user's view: `oryxpy serving` with publish-vectors=false on Kafka says so in its log at startup."""
    args = [sys.executable, "-m", "oryxpy.cli", "serving", "--set", KAFKA, "--set", "oryx.batch.publish-vectors=false",
            "--set", f"oryx.serving.api.port={free_port()}", "--set", "oryx.id=compat-warning-test"]
    process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        assert process.stderr is not None
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line)
            if "Oryx 2.8 compatibility" in line:
                break
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert any("WARNING" in line and "publish-vectors = false" in line and "serving layer" in line for line in lines), lines


def test_java_string_hash_matches_java() -> None:
    # values of String.hashCode() computed by Java
    assert [java_string_hash(s) for s in ("", "a", "hello", "Aa", "BB", "polygenelubricants")] == \
        [0, 97, 99162322, 2112, 2112, -2147483648]
    assert java_string_hash("é😀x") == 61901292  # UTF-16 code units, surrogate pair included


def test_hashmap_capacity_and_order_match_java() -> None:
    assert [hashmap_capacity(n) for n in (0, 1, 2, 3, 4, 12, 13, 943, 1682)] == [1, 2, 4, 4, 8, 16, 32, 2048, 4096]
    # iteration order of Java's new HashMap<>(n) after putting "1", "8", "15", ... (printed by Java 17)
    ids = [str(i * 7 + 1) for i in range(5)]
    assert sorted(ids, key=bucket_key(5)) == ["8", "22", "1", "15", "29"]
    ids = [str(i * 7 + 1) for i in range(13)]
    assert sorted(ids, key=bucket_key(13)) == ["22", "78", "57", "36", "15", "29", "1", "8", "71", "50", "85", "64", "43"]


def test_equal_counts_come_in_oryx_order() -> None:
    from collections import Counter

    from serving.routes.popular import _top_counts

    counts = Counter({"29": 1, "15": 1, "1": 1, "8": 2, "22": 1})  # Java's HashMap order: 8 22 1 15 29
    assert _top_counts(counts, None, 10, 0) == [("8", 2), ("22", 1), ("1", 1), ("15", 1), ("29", 1)]
    assert _top_counts(counts, None, 2, 2) == [("1", 1), ("15", 1)]
    assert _top_counts(counts, None, 0, 0) == []


class _NoOdd:
    def is_filtered(self, item: str) -> bool:
        return int(item) % 2 == 1


def test_equal_counts_after_a_rescorer_keep_the_whole_maps_order() -> None:
    from collections import Counter

    from serving.routes.popular import _top_counts

    counts = Counter({"29": 1, "15": 1, "1": 1, "8": 1, "22": 1})
    assert _top_counts(counts, _NoOdd(), 10, 0) == [("8", 1), ("22", 1)]
