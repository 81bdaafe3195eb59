"""Update messages: Oryx's exact JSON for UP, MODEL / MODEL-REF keys, and clear errors for bad messages."""

from __future__ import annotations

import numpy as np
import pytest

from oryxpy.errors import InvalidInput
from oryxpy.javafmt import java_double, java_float
from oryxpy.messages import ModelMessage, ModelRefMessage, VectorUpdate, decode, encode, up_value


def test_up_value_matches_oryx_json():
    assert up_value("Y", "i1", [0.1, -0.2]) == '["Y","i1",[0.1,-0.2]]'
    assert up_value("X", "u1", np.array([1.0, 1e-4], dtype=np.float32), ["i1", "i 2"]) == '["X","u1",[1.0,1.0E-4],["i1","i 2"]]'
    assert up_value("X", "u1", [0.5], []) == '["X","u1",[0.5]]'  # empty known set: 4th element omitted
    assert up_value("X", 'q"u', [0.5]) == '["X","q\\"u",[0.5]]'


def test_round_trip_every_kind():
    messages = [
        ModelMessage("<PMML/>"),
        ModelRefMessage("hdfs://nn:9000/model/1/model.pmml"),
        VectorUpdate("X", "u1", np.array([0.25, -1.5], dtype=np.float32), ("i1", "i2")),
        VectorUpdate("Y", "日本", np.array([3.0], dtype=np.float32), None),
    ]
    for message in messages:
        assert decode(*encode(message)) == message


def test_decode_tolerates_numeric_ids_and_speed_layer_fourth_element():
    update = decode("UP", '["Y",123,[1,2.5],["userA"]]')
    assert isinstance(update, VectorUpdate) and update.id == "123" and update.known == ("userA",)
    assert update.vector.dtype == np.float32 and list(update.vector) == [1.0, 2.5]


@pytest.mark.parametrize(
    "value",
    [
        '["X","u",[1.5,-2e-3,3]]', ' [ "Y" , "i" , [ 1 , 2 ] , null ] ', '["X","u",[NaN,Infinity,-Infinity]]',
        '["X",123456789012345678901234567890,[1]]', '["X","\\ud800",[1]]', '["X","\\u00e9\\u4e2d",[1e400,-1e-400]]',
        '["X","u",[0.1,0.2,0.30000000000000004,3.4028235e38,1.17549435e-38,5e-324]]', '["X",-7,[1],[1,"a",2.5]]',
        '["Y","i",[123456789012345678901234567891,-98765432109876543210],[123456789012345678901]]',
    ],
)
def test_decode_takes_and_returns_what_the_standard_parser_does(value):
    """The fast parser is only a shortcut: for every text, decode gives what the standard JSON parser's result gives."""
    import json

    update = decode("UP", value)
    expected = json.loads(value)
    assert isinstance(update, VectorUpdate) and (update.matrix, update.id) == (expected[0], str(expected[1]))
    np.testing.assert_array_equal(update.vector, np.asarray(expected[2], dtype=np.float32))
    assert update.known == (tuple(str(k) for k in expected[3]) if len(expected) > 3 and expected[3] is not None else None)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("BOGUS", "x", "bad update message key 'BOGUS'"),
        (None, "x", "bad update message key None"),
        ("UP", "not json", "not JSON"),
        ("UP", '["Z","a",[1]]', '"X"|"Y"'),
        ("UP", '["X","a"]', '"X"|"Y"'),
        ("UP", '["X","a","notvector"]', "not a list of numbers"),
        ("UP", '["X","a",[1,"2"]]', "not a list of numbers"),
        ("UP", '["X",["a"],[1]]', "ID must be a string"),
        ("UP", '["X","a",[1],"notalist"]', "known IDs that are not a list"),
    ],
)
def test_bad_messages_are_rejected_clearly(key, value, message):
    with pytest.raises(InvalidInput, match=None) as info:
        decode(key, value)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("value", "double", "single"),
    [
        (1.0, "1.0", "1.0"), (0.001, "0.001", "0.001"), (1e-4, "1.0E-4", "1.0E-4"), (1e7, "1.0E7", "1.0E7"),
        (1234567.0, "1234567.0", "1234567.0"), (0.1, "0.1", "0.1"), (-0.0, "-0.0", "-0.0"),
        (0.7749542842056966, "0.7749542842056966", "0.77495426"), (float("nan"), "NaN", "NaN"),
        (float("-inf"), "-Infinity", "-Infinity"), (123456789.0, "1.23456789E8", "1.2345679E8"),
    ],
)
def test_java_number_text(value, double, single):
    assert java_double(value) == double
    assert java_float(value) == single
