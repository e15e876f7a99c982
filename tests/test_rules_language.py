"""A rule file names the languages its words are in (issue 16): `language: german`, or
`languages: [english, german]`, stems the words of its contains_word and similar_to conditions
with those Snowball stemmers (english when it names none); a language the stemmer does not
know is a rule error at its file:line that lists the ones it does."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncd.errors import RuleError
from syncd.model import Status, Ticket
from syncd.rules import RuleSet, load_rules
from syncd.rules.preview import why
from tests.conftest import run_cli

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
HEAD = "name: Rechnungen\nowner: lead@example.com\n"
INVOICES = "categories:\n  - category: Billing\n    when: {text: {contains_word: [Rechnung]}}\n"


def ticket(subject: str, description: str = "") -> Ticket:
    return Ticket(
        id="1",
        source="zendesk",
        subject=subject,
        description=description,
        status=Status.OPEN,
        created_at=NOW,
        updated_at=NOW,
    )


def rules(folder: Path, text: str) -> RuleSet:
    folder.mkdir(exist_ok=True)
    (folder / "r.yaml").write_text(HEAD + text, encoding="utf-8")
    return load_rules(folder)


def category(ruleset: RuleSet, subject: str) -> str:
    return ruleset.evaluate(ticket(subject), NOW).category


def test_a_german_file_matches_german_word_forms(tmp_path: Path) -> None:
    german = rules(tmp_path / "de", "language: german\n" + INVOICES)
    assert category(german, "Zwei Rechnungen für März") == "Billing"
    assert category(german, "Die rechnung ist falsch") == "Billing"
    assert category(german, "Eine Rechnungsadresse") == "General"  # another word
    # The same rule read in English (the default) does not see the plural as the word.
    english = rules(tmp_path / "en", INVOICES)
    assert category(english, "Zwei Rechnungen für März") == "General"


def test_a_file_in_several_languages_matches_by_any_stemmer(tmp_path: Path) -> None:
    both = rules(
        tmp_path,
        "languages: [english, German]\n"
        "categories:\n  - category: Billing\n"
        "    when: {text: {contains_word: [Rechnung, refund]}}\n",
    )
    assert category(both, "Rechnungen") == "Billing"
    assert category(both, "Refunded twice") == "Billing"
    assert category(both, "Hello") == "General"


def test_a_condition_naming_its_language_keeps_it(tmp_path: Path) -> None:
    ruleset = rules(
        tmp_path,
        "language: german\n"
        "categories:\n  - category: Billing\n"
        "    when: {text: {contains_word: {words: [refund], language: english}}}\n",
    )
    assert category(ruleset, "Refunds please") == "Billing"


def test_similar_to_reads_in_the_files_language(tmp_path: Path) -> None:
    similar = (
        "categories:\n  - category: Billing\n"
        "    when: {text: {similar_to: {examples: [Die Rechnung ist falsch], threshold: 50}}}\n"
    )
    # German stems: "falsch" and "rechnung", 2 of the example's 4 (German has no list of
    # words that count for nothing).
    assert category(
        rules(tmp_path / "de", "language: german\n" + similar), "Falsche Rechnungen"
    ) == ("Billing")
    # English stems find "falsch" only.
    assert category(rules(tmp_path / "en", similar), "Falsche Rechnungen") == "General"


def test_rules_explain_finds_the_word_in_the_files_language(tmp_path: Path) -> None:
    ruleset = rules(tmp_path, "language: german\n" + INVOICES)
    subject = ticket("Zwei Rechnungen")
    decision = ruleset.evaluate(subject, NOW)
    lines = why(ruleset, subject, NOW, decision, decision.reasons[0])
    assert any("found 'Rechnung' in subject" in line for line in lines), lines


def test_the_default_rules_name_no_language_and_read_english() -> None:
    from tests.conftest import RULES

    assert {f.languages for f in load_rules(RULES).files} == {("english",)}


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("language: klingon\n", 3, "unknown language 'klingon'"),
        ("language: germn\n", 3, "unknown language 'germn'. Did you mean german?"),
        ("languages:\n  - english\n  - elvish\n", 5, "unknown language 'elvish'"),
        ("languages: []\n", 3, "languages needs a name"),
        ("language: german\nlanguages: [english]\n", 4, "give language or languages, not both"),
    ],
)
def test_a_bad_language_is_an_error_at_its_line(
    tmp_path: Path, text: str, line: int, says: str
) -> None:
    with pytest.raises(RuleError) as info:
        rules(tmp_path, text + INVOICES)
    rendered = info.value.render()
    assert f"{tmp_path / 'r.yaml'}:{line}:" in rendered, rendered
    assert says in rendered, rendered


def test_rules_check_names_the_line_and_the_languages_it_knows(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(HEAD + "language: klingon\n" + INVOICES, encoding="utf-8")
    result = run_cli("rules", "check", str(tmp_path))
    out = result.stdout + result.stderr
    assert result.returncode == 1, out  # as every problem `rules check` finds (a linter's)
    assert re.search(r"r\.yaml:3:\d+", out), out
    assert "unknown language 'klingon'" in out, out
    assert "german" in out and "english" in out and "french" in out, out  # the supported ones
