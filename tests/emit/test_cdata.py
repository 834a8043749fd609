"""C names, comments and literals."""

import numpy as np
import pytest

from edgec.emit import check_identifier, identifier_from_stem
from edgec.emit.cdata import array_definition, c_float, c_values
from edgec.emit.cnames import c_comment_text
from edgec.errors import EdgecError


@pytest.mark.parametrize("name", ["int", "static", "_hidden", "9lives", "a-b", "", "caf\u00e9"])
def test_bad_identifiers_are_refused(name):
    with pytest.raises(EdgecError):
        check_identifier(name)


def test_stems_become_identifiers():
    assert identifier_from_stem("kws_dscnn-int8.v2") == "kws_dscnn_int8_v2"
    assert identifier_from_stem("8bit") == "m8bit"
    with pytest.raises(EdgecError):
        identifier_from_stem("while")


def test_float_literals_read_back_exactly():
    values = np.random.default_rng(1).standard_normal(500).astype(np.float32) * 1e3
    values = np.concatenate([values, np.float32([0.0, 1.0, 1e-30, 3.4e38, 1.4e-45, -2.0])])
    for v in values:
        text = c_float(v)
        assert text.endswith("f")
        assert np.float32(float(text[:-1])) == v


def test_extreme_integers_are_valid_c():
    assert c_values(np.array([-2 ** 31, 5], np.int32)) == ["(-2147483647 - 1)", "5"]
    assert c_values(np.array([-2 ** 63], np.int64)) == ["(-9223372036854775807LL - 1)"]


def test_array_definition_has_every_value():
    text = array_definition("m_w0", np.arange(40, dtype=np.int8).reshape(2, 20), attribute="AL")
    assert text.startswith("static const int8_t m_w0[40] AL = {")
    assert text.endswith("};")
    assert text.count(",") == 39


def test_comments_cannot_close_early_or_form_trigraphs():
    text = c_comment_text("a */ b /* c ??/ d\n e \u00e9")
    assert "*/" not in text and "/*" not in text and "??" not in text and "\n" not in text
