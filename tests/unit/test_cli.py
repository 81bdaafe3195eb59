"""The oryxpy command: kafka-setup, kafka-input and kafka-tail on embedded topics and real Kafka, with bad input."""

from __future__ import annotations

import pytest

from oryxpy.cli import main
from oryxpy.config import Config
from oryxpy.topics import open_consumer


def cli_sets(config: Config) -> list[str]:
    args = []
    for key in ("oryx.embedded.state-dir", "oryx.input-topic.broker", "oryx.update-topic.broker",
                "oryx.input-topic.message.topic", "oryx.update-topic.message.topic"):
        args += ["--set", f"{key}={config[key]}"]
    return args


def read_input(config: Config, expected: int) -> list[str]:
    values: list[str] = []
    with open_consumer(config, "input", None, "earliest") as consumer:
        for _ in range(40):
            values += [r.value for r in consumer.poll(timeout_s=0.5)]
            if len(values) >= expected:
                break
    return values


def test_kafka_setup_embedded_says_nothing_to_do(embedded_config, capsys):
    assert main(["kafka-setup", *cli_sets(embedded_config)]) == 0
    out = capsys.readouterr().out
    assert "input topic OryxInput: embedded" in out and "nothing to do" in out


def test_kafka_input_validates_everything_before_sending(embedded_config, tmp_path, capsys):
    good = tmp_path / "good.csv"
    good.write_text("u1,i1,2,1000\nu2,i2\n\nu3,i3,\n")
    assert main(["kafka-input", "--input-file", str(good), *cli_sets(embedded_config)]) == 0
    values = sorted(read_input(embedded_config, 3))  # keys spread lines over partitions
    assert values[0] == "u1,i1,2.0,1000"
    assert values[1].startswith("u2,i2,1.0,") and values[2].startswith("u3,i3,,")
    bad = tmp_path / "bad.csv"
    bad.write_text("u4,i4,1,2000\nu5,i5,notanumber\n")
    assert main(["kafka-input", "--input-file", str(bad), *cli_sets(embedded_config)]) == 1
    err = capsys.readouterr().err
    assert "line 2: strength 'notanumber' is not a number; nothing was sent" in err
    assert len(read_input(embedded_config, 3)) == 3  # the send is synchronous: a 4th would be there now


def test_kafka_input_missing_file(embedded_config, capsys):
    assert main(["kafka-input", "--input-file", "/no/such/file", *cli_sets(embedded_config)]) == 1
    assert "cannot read /no/such/file" in capsys.readouterr().err


def test_kafka_tail_prints_both_topics(embedded_config, capsys):
    from oryxpy.topics import open_producer

    with open_producer(embedded_config, "input") as p:
        p.send("k", "u,i,1.0,5")
    with open_producer(embedded_config, "update") as p:
        p.send("UP", '["Y","i",[1.0]]')
    assert main(["kafka-tail", "--from-beginning", "--max-messages", "2", *cli_sets(embedded_config)]) == 0
    out = capsys.readouterr().out
    assert "OryxInput\tk\tu,i,1.0,5" in out and 'OryxUpdate\tUP\t["Y","i",[1.0]]' in out


def test_bad_config_exits_2_naming_the_key(capsys):
    assert main(["kafka-setup", "--set", "oryx.als.iterations=zero"]) == 2
    assert "oryx.als.iterations" in capsys.readouterr().err


def test_unreachable_broker_is_one_clear_error(capsys):
    code = main(["kafka-setup", "--set", "oryx.input-topic.broker=127.0.0.1:9",
                 "--set", "oryx.kafka.timeout-sec=2"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Kafka broker at 127.0.0.1:9 cannot be reached" in err and "Traceback" not in err


@pytest.mark.integration
def test_kafka_setup_and_input_on_real_kafka(kafka_config, tmp_path, capsys):
    assert main(["kafka-setup", *cli_sets(kafka_config)]) == 0
    assert "already exists" in capsys.readouterr().out  # the fixture created them
    data = tmp_path / "d.csv"
    data.write_text("".join(f"u{i},i{i},1,{1000 + i}\n" for i in range(20)))
    assert main(["kafka-input", "--input-file", str(data), *cli_sets(kafka_config)]) == 0
    assert sorted(read_input(kafka_config, 20)) == sorted(f"u{i},i{i},1.0,{1000 + i}" for i in range(20))


def test_demo_data_has_taste_groups_and_valid_records(tmp_path, capsys):
    from oryxpy.demo import demo_interactions
    from oryxpy.records import parse_interaction

    out = tmp_path / "demo.csv"
    assert main(["demo-data", "--users", "50", "--items", "300", "--output", str(out)]) == 0
    records = [parse_interaction(line) for line in out.read_text().splitlines()]
    assert len(records) > 50 * 3
    in_group = sum(1 for r in records if r.item.startswith(f"g{int(r.user[4:]) % 5}-"))
    assert in_group / len(records) > 0.6  # users mostly pick their group's genre
    assert [r.timestamp_ms for r in records] == sorted(r.timestamp_ms for r in records)
    assert demo_interactions(users=20, seed=1, now_ms=10**12) == demo_interactions(users=20, seed=1, now_ms=10**12)


def test_kafka_input_movielens_tsv_with_seconds(embedded_config, tmp_path):
    data = tmp_path / "u.data"
    data.write_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
    assert main(["kafka-input", "--tsv", "--seconds", "--input-file", str(data), *cli_sets(embedded_config)]) == 0
    assert sorted(read_input(embedded_config, 2)) == ["186,302,3.0,891717742000", "196,242,3.0,881250949000"]
    bad = tmp_path / "bad.data"
    bad.write_text("196\t242\t3\t881250949\n186\n")
    assert main(["kafka-input", "--tsv", "--input-file", str(bad), *cli_sets(embedded_config)]) == 1
