"""Driver pseudonyms (backbone.privacy.pseudonym): stable per driver, keyed, total."""

from __future__ import annotations

import pytest

from backbone.privacy.pseudonym import is_pseudonym, pseudonym

PEPPER = "p" * 32


def test_the_same_identifier_under_the_same_pepper_has_one_pseudonym_and_another_pepper_another() -> None:
    first = pseudonym(PEPPER, "rfid#04523022AA4881")

    assert first == pseudonym(PEPPER, "rfid#04523022AA4881")
    assert is_pseudonym(first)
    assert first != pseudonym("q" * 32, "rfid#04523022AA4881")
    assert first != pseudonym(PEPPER, "rfid#04523022AA4882")
    assert "04523022AA4881" not in first


def test_an_identifier_with_a_lone_surrogate_still_has_a_pseudonym() -> None:
    # JSON lets a partner send "\ud800"; a CDR the receiver accepted with it must be storable.
    odd = pseudonym(PEPPER, "rfid#\ud800")

    assert is_pseudonym(odd)
    assert odd == pseudonym(PEPPER, "rfid#\ud800")
    assert odd != pseudonym(PEPPER, "rfid#\udc00")


def test_a_short_pepper_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        pseudonym("short", "rfid#04523022AA4881")
