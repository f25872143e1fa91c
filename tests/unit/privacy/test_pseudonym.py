"""Driver pseudonyms (backbone.privacy.pseudonym): stable per driver, keyed, total."""

from __future__ import annotations

import pytest

from backbone.privacy.pseudonym import is_pseudonym, pseudonym, pseudonymiser

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


def test_a_pseudonymiser_gives_the_same_pseudonyms_and_asks_for_the_pepper_again_after_a_while() -> None:
    asked: list[float] = []
    now = [0.0]

    def pepper() -> str:
        asked.append(now[0])
        return PEPPER

    pseudonymise = pseudonymiser(pepper, refresh_seconds=60, clock=lambda: now[0])

    assert pseudonymise("rfid#04523022AA4881") == pseudonym(PEPPER, "rfid#04523022AA4881")
    assert pseudonymise("rfid#\ud800") == pseudonym(PEPPER, "rfid#\ud800")
    now[0] = 61.0
    assert pseudonymise("evco-id#DE8PSC0CD0C002Q") == pseudonym(PEPPER, "evco-id#DE8PSC0CD0C002Q")
    assert asked == [0.0, 61.0]


def test_a_pseudonymiser_whose_pepper_cannot_be_read_fails_and_asks_again_on_the_next_call() -> None:
    answers = iter([RuntimeError("secret unavailable"), PEPPER])

    def pepper() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    pseudonymise = pseudonymiser(pepper)

    with pytest.raises(RuntimeError, match="unavailable"):
        pseudonymise("rfid#04523022AA4881")
    assert pseudonymise("rfid#04523022AA4881") == pseudonym(PEPPER, "rfid#04523022AA4881")
