"""Oryx's ALS PMML: extension order and counts, ID quoting, lenient reading."""

from __future__ import annotations

import pytest

from oryxpy.errors import InvalidInput
from oryxpy.pmml import (
    ALSModelInfo,
    als_model_to_pmml,
    join_ids,
    pmml_to_als_model,
    read_extensions,
    split_ids,
)

ODD_IDS = ["plain", "with space", 'with "quotes" ', "back\\slash", "", "x<&>y", "日本", "tab\there"]


def test_id_quoting_matches_oryx_and_round_trips() -> None:
    assert join_ids(["ab", "a b", 'with "quotes" ']) == 'ab "a b" "with \\"quotes\\" "'
    assert split_ids(join_ids(ODD_IDS)) == ODD_IDS
    assert split_ids("  a   b\n c ") == ["a", "b", "c"]


def test_extension_order_and_counts() -> None:
    implicit = ALSModelInfo(features=10, implicit=True, x_ids=["u"], y_ids=["i"], lambda_=0.001, alpha=1.0)
    names = list(read_extensions(als_model_to_pmml(implicit)))
    assert names == ["X", "Y", "features", "lambda", "implicit", "alpha", "logStrength", "XIDs", "YIDs"]
    explicit = ALSModelInfo(features=4, implicit=False, x_ids=["u"], y_ids=["i"], lambda_=0.001)
    assert len(read_extensions(als_model_to_pmml(explicit))) == 8
    logs = ALSModelInfo(features=4, implicit=True, x_ids=["u"], y_ids=["i"], lambda_=0.1, alpha=40.0,
                        log_strength=True, epsilon=1e-5)
    ext = read_extensions(als_model_to_pmml(logs))
    assert ext["epsilon"] == "1.0E-5" and ext["alpha"] == "40.0" and ext["lambda"] == "0.1"


def test_round_trip_with_odd_ids() -> None:
    info = ALSModelInfo(features=3, implicit=True, x_ids=ODD_IDS, y_ids=list(reversed(ODD_IDS)), lambda_=0.01,
                        alpha=2.0, extra={"model": "two-tower"})
    text = als_model_to_pmml(info)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<PMML xmlns="http://www.dmg.org/PMML-4_3" version="4.3">')
    assert "\n" not in text.split("\n", 1)[1]  # compact document
    back = pmml_to_als_model(text)
    assert back == info


def test_empty_id_lists_are_omitted_and_read_as_empty() -> None:
    text = als_model_to_pmml(ALSModelInfo(features=2, implicit=False, x_ids=[], y_ids=[]))
    assert "XIDs" not in text
    back = pmml_to_als_model(text)
    assert back.x_ids == [] and back.y_ids == []


def test_lenient_hand_built_pmml() -> None:
    text = ('<PMML xmlns="http://www.dmg.org/PMML-4_3"><Extension name="features" value="2"/>'
            '<Extension name="implicit" value="true"/><Extension name="XIDs">A B</Extension>'
            '<Extension name="YIDs">"I 1"</Extension></PMML>')
    info = pmml_to_als_model(text)
    assert (info.features, info.implicit, info.x_ids, info.y_ids) == (2, True, ["A", "B"], ["I 1"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not xml", "not valid PMML XML"),
        ("<Other/>", "not PMML"),
        ('<PMML><Extension name="implicit" value="true"/></PMML>', "lacks the features extension"),
        ('<PMML><Extension name="features" value="ten"/><Extension name="implicit" value="true"/></PMML>', "not an integer"),
        ('<PMML><Extension name="features" value="2"/><Extension name="implicit" value="yes"/></PMML>', "not true or false"),
    ],
)
def test_bad_pmml(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        pmml_to_als_model(text)
