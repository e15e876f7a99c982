"""Triage that reads like a support agent (issue 16): `contains_word`, `fuzzy`, `similar_to`.

Variants match, near misses do not, thresholds decide, and a wrong setting is a RuleError at
its file:line. The default rules' phrasing cases live in rules/tests/triage.yaml.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncd.errors import RuleError
from syncd.model import Status, Ticket
from syncd.rules import RuleSet, load_rules
from syncd.rules.wording import Fuzzy, Similarity, SimilarityIndex, Stemming, WordScanner
from tests.conftest import RULES

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
HEAD = "name: Phrasing\nowner: lead@example.com\n"


def ticket(subject: str, description: str = "", tags: tuple[str, ...] = ()) -> Ticket:
    return Ticket(
        id="1",
        source="zendesk",
        subject=subject,
        description=description,
        status=Status.OPEN,
        created_at=NOW,
        updated_at=NOW,
        tags=tags,
    )


def rules(tmp_path: Path, condition: str) -> RuleSet:
    """A rule set whose one category rule, Hit, has `condition` as its `when`."""
    (tmp_path / "r.yaml").write_text(
        HEAD + f"categories:\n  - category: Hit\n    when: {condition}\n", encoding="utf-8"
    )
    return load_rules(tmp_path)


def hits(ruleset: RuleSet, subject: str, description: str = "") -> bool:
    return ruleset.evaluate(ticket(subject, description), NOW).category == "Hit"


# --- contains_word ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I was billed twice",
        "They are BILLING TWICE",
        "bills twice a month",
        "Billed  twice\n(again)",
        "duplicate charge on my card",
        "Duplicated charges!",
        "I can't log in",
        "I cannot log in",
        "i can not log-in",
        "I can’t log in",  # a curly apostrophe
    ],
)
def test_contains_word_matches_stems_and_common_variants(tmp_path: Path, text: str) -> None:
    ruleset = rules(
        tmp_path,
        '{text: {contains_word: ["billed twice", "duplicate charge", "can\'t log in"]}}',
    )
    assert hits(ruleset, text)


@pytest.mark.parametrize(
    "text",
    [
        "billed once, twice the value",  # the words of a phrase stand in a row
        "billing address",
        "duplicate invoice",
        "I can log in",
        "download",  # "down" is a word; "download" another
        "chargers",
    ],
)
def test_contains_word_near_misses(tmp_path: Path, text: str) -> None:
    ruleset = rules(
        tmp_path,
        '{text: {contains_word: ["billed twice", "duplicate charge", "can\'t log in", down, '
        "charge]}}",
    )
    assert not hits(ruleset, text)


def test_contains_word_languages(tmp_path: Path) -> None:
    ruleset = rules(
        tmp_path,
        '{text: {contains_word: {words: ["doppelte Abbuchung"], language: [german, english]}}}',
    )
    assert hits(ruleset, "Doppelten Abbuchungen auf meiner Karte")
    assert not hits(ruleset, "Eine Abbuchung")


def test_contains_word_on_a_list_field(tmp_path: Path) -> None:
    ruleset = rules(tmp_path, "{tags: {contains_word: [billing]}}")
    assert ruleset.evaluate(ticket("x", tags=("billed",)), NOW).category == "Hit"
    assert ruleset.evaluate(ticket("x", tags=("bug",)), NOW).category != "Hit"


def test_the_stems_of_a_field_are_read_once_for_every_condition(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        HEAD + "categories:\n"
        "  - category: A\n    when: {text: {contains_word: [refund]}}\n"
        "  - category: B\n    when: {text: {similar_to: [the invoice is wrong]}}\n"
        "  - category: C\n    when: {text: {contains_word: [wrong invoice]}}\n",
        encoding="utf-8",
    )
    ruleset = load_rules(tmp_path)
    scanners = [s for s in ruleset.scanners.values() if isinstance(s, WordScanner)]
    assert len(scanners) == 1  # one field, one language: one scan per ticket
    assert ruleset.evaluate(ticket("Invoice #88135 is wrong"), NOW).category == "B"
    assert ruleset.evaluate(ticket("Wrong invoices again"), NOW).category == "B"
    assert ruleset.evaluate(ticket("Refunded?"), NOW).category == "A"


# --- fuzzy ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "threshold", "expected"),
    [
        ("we were dubble charged", 85, True),
        ("we were double charged", 100, True),
        ("we were dubble charged", 100, False),
        ("we were dbl chrgd", 85, False),
        ("we were dbl chrgd", 60, True),
        ("the double chargers arrived", 90, False),  # whole words: "chargers" is not "charged"
    ],
)
def test_fuzzy_threshold(tmp_path: Path, text: str, threshold: int, expected: bool) -> None:
    ruleset = rules(
        tmp_path, f'{{text: {{fuzzy: {{phrases: ["double charged"], threshold: {threshold}}}}}}}'
    )
    assert hits(ruleset, text) is expected


def test_fuzzy_needs_whole_words() -> None:
    down = Fuzzy(["down"], 85)
    assert not down("please add a download button")
    assert down("the download works but the site is down")
    assert Fuzzy(["billed twice"], 85)("i was biled twice")
    assert not Fuzzy(["billed twice"], 85)("i was billed once")


def test_fuzzy_default_threshold(tmp_path: Path) -> None:
    ruleset = rules(tmp_path, '{text: {fuzzy: ["speak to a manager"]}}')
    assert hits(ruleset, "I want to speek to a manger")
    assert not hits(ruleset, "I spoke to my manager about the renewal")


# --- similar_to -------------------------------------------------------------------------------

EXAMPLES = '["The invoice is wrong", "There is a duplicate charge on my card"]'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Invoice #88135 is wrong", True),  # the words, in any order, with a number between
        ("Wrong amount on your invoices", True),
        ("My card shows a duplicated charge", True),
        ("Please send the invoice", False),
        ("Wrong email address, sorry", False),
        ("The card reader charges slowly", False),  # 2 of 3 words: under 75%
    ],
)
def test_similar_to_default_threshold(tmp_path: Path, text: str, expected: bool) -> None:
    ruleset = rules(tmp_path, f"{{text: {{similar_to: {EXAMPLES}}}}}")
    assert hits(ruleset, text) is expected


def test_similar_to_threshold(tmp_path: Path) -> None:
    ruleset = rules(tmp_path, f"{{text: {{similar_to: {{examples: {EXAMPLES}, threshold: 60}}}}}}")
    assert hits(ruleset, "The card reader charges slowly")  # 2 of 3 words: over 60%
    assert not hits(ruleset, "Thanks for your help")


def test_similar_to_weights_rare_words_more() -> None:
    index = SimilarityIndex(WordScanner())
    one = Similarity(index, ["the invoice is wrong", "the invoice is late"], 50)
    Similarity(index, ["invoice attached"], 50)
    weights = index.weights()
    assert weights["wrong"] > weights["invoic"]  # in 1 example of 3 against 3 of 3
    assert "the" not in weights and "is" not in weights  # common words do not count
    code = index.scanner.code
    assert one.score(frozenset(code("invoic"))) < 50 < one.score(frozenset(code("wrong")))


def test_stemming_contractions() -> None:
    english = Stemming("english")
    assert english.phrase("I can't log in") == "i can not log in"
    assert english.phrase("It doesn't work") == english.phrase("it does not work")
    assert english.phrase("the customer's invoices") == "the custom invoic"
    assert english.phrase("...") == ""


# --- the default rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "subject", ["I was billed twice", "Duplicate charge on my card", "Invoice #88135 is wrong"]
)
def test_issue_16_billing_errors_are_high(subject: str) -> None:
    decision = load_rules(RULES).evaluate(ticket(subject), NOW)
    assert (decision.category, decision.priority) == ("Billing", "High")


# --- errors at file:line ----------------------------------------------------------------------

BROKEN = {
    "empty-words": ("{text: {contains_word: []}}", ":5:", "contains_word needs a list of texts"),
    "no-word": ('{text: {contains_word: ["!!"]}}', ":5:", "'!!' holds no word"),
    "unknown-language": (
        "{text: {contains_word: {words: [refund], language: englsh}}}",
        ":5:",
        "unknown language 'englsh'. Did you mean english?",
    ),
    "unknown-key": (
        "{text: {contains_word: {words: [refund], threshold: 80}}}",
        ":5:",
        "unknown key 'threshold' in contains_word",
    ),
    "missing-list": ("{text: {fuzzy: {threshold: 80}}}", ":5:", "fuzzy needs `phrases:`"),
    "bad-threshold": (
        "{text: {fuzzy: {phrases: [refunded], threshold: 150}}}",
        ":5:",
        "fuzzy threshold must be a number from 1 to 100 (percent), got 150",
    ),
    "text-threshold": (
        "{text: {similar_to: {examples: [the invoice is wrong], threshold: high}}}",
        ":5:",
        "similar_to threshold must be a number",
    ),
    "short-fuzzy": ("{text: {fuzzy: [bug]}}", ":5:", "fuzzy phrase 'bug' is too short"),
    "common-words-only": (
        '{text: {similar_to: ["it is what it is"]}}',
        ":5:",
        "holds no word that counts",
    ),
    "not-text": ("{csat: {contains_word: [five]}}", ":5:", "contains_word reads text"),
    "fuzzy-language": (
        "{text: {fuzzy: {phrases: [refunded], language: german}}}",
        ":5:",
        "unknown key 'language' in fuzzy",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_bad_settings_are_rule_errors_at_the_line(tmp_path: Path, case: str) -> None:
    condition, line, message = BROKEN[case]
    with pytest.raises(RuleError) as info:
        rules(tmp_path, condition)
    rendered = info.value.render()
    assert f"{tmp_path / 'r.yaml'}{line}" in rendered, rendered
    assert message in rendered, rendered


def test_a_bad_item_is_named_at_its_own_line(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        HEAD + "categories:\n  - category: Hit\n    when:\n      text:\n        fuzzy:\n"
        "          phrases:\n            - double charged\n            - bug\n",
        encoding="utf-8",
    )
    with pytest.raises(RuleError) as info:
        load_rules(tmp_path)
    assert f"{tmp_path / 'r.yaml'}:10:15: fuzzy phrase 'bug'" in info.value.render()
