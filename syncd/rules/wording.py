"""How customers write: word stems, typos and paraphrases, for three condition operators.

    text: {contains_word: ["billed twice", "duplicate charge"]}   # stems: "bills", "billing"...
    text: {fuzzy: {phrases: ["double charged"], threshold: 85}}   # typos: "dubble charged"
    text: {similar_to: {examples: ["I was billed twice"], threshold: 75}}

Everything here is computed once, at load, or once per ticket and field; nothing reads a file
or the clock. `WordScanner` lower-cases what it reads; `Fuzzy` gets texts lower-cased (the
compiler lowers each field once per evaluation).

* `WordScanner` (`contains_word`): the text's words become Snowball stems (PyStemmer, in C),
  so "billed", "bills" and "billing" are all `bill`; English contractions become two words
  ("can't", "cannot" -> `can not`) and hyphens split words ("log-in" -> `log in`). Every phrase
  any `contains_word` looks for in a field is found in one reading of the field, a bit mask.
  Stems of lines, of whitespace-separated pieces of text and the phrases of runs of stems are
  memoised, so a ticket costs one dictionary lookup per line it shares with texts read before
  (greetings, signatures, quoted replies, itself on the previous cycle) and one per run of
  stems the rules look for.
* `Fuzzy` (`fuzzy`): a phrase matches whole words spelled at least `threshold`% alike
  (rapidfuzz's ratio, in C): "dubble charged" is 93% "double charged"; "down" is not found in
  "download" (the words around the match count).
* `Similarity` (`similar_to`): a ticket is like an example when it holds at least
  `threshold`% of the example's stems, each weighted by how rare it is among all the examples
  of the rule set (an inverse document frequency computed at load); English function words
  ("i", "the", "was") weigh nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from functools import reduce
from operator import or_
from typing import Any

import ahocorasick
import Stemmer
from rapidfuzz import fuzz

DEFAULT_LANGUAGE = "english"
LANGUAGES: tuple[str, ...] = tuple(sorted(Stemmer.algorithms()))
DEFAULT_FUZZY_THRESHOLD = 85.0
DEFAULT_SIMILARITY_THRESHOLD = 75.0
MIN_FUZZY_LENGTH = 4  # shorter phrases match too much by accident: use contains_word

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_EDGES = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'’“”«»…¿¡"  # around a word: not part of it
_MEMO_LIMIT = 200_000  # pieces of text remembered per language; memory stays bounded
# Characters of lines remembered per field and language (keys and their codes, a few MB): a
# bound on lines alone let a backfill's long descriptions (10-20 KB a line) hold hundreds of MB.
_LINE_MEMO_CHARS = 2_000_000
# English contractions whose first word is not the word before "n't".
_NOT = {"can't": "can", "cannot": "can", "won't": "will", "shan't": "shall", "ain't": "is"}
_CLITICS = ("'s", "'re", "'ve", "'ll", "'d", "'m")
_ENGLISH_STOPWORDS = """
a about am an and any are as at be been being but by could did do does doing for from had has
have having he her here hers him his how i if in into is it its itself just me more my myself of
on once only or our ours out over own please same she should so some such than that the their
them then there these they this those to too us very was we were what when where which while who
whom why will with would you your yours hi hello thanks thank regards dear team
"""
STOPWORDS: dict[str, frozenset[str]] = {"english": frozenset(_ENGLISH_STOPWORDS.split())}


class Stemming:
    """Lower-cased text to its stems in one language, pieces of text memoised."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._stem = Stemmer.Stemmer(language).stemWord
        self._english = language in ("english", "porter")
        self._memo: dict[str, str] = {}

    def words(self, text: str) -> str:
        """The text's stems separated by spaces, with a space before and after each."""
        memo = self._memo
        pieces = text.split()
        stems = list(map(memo.get, pieces))
        if None in stems:
            if len(memo) > _MEMO_LIMIT:
                memo.clear()
            for index, piece in enumerate(pieces):
                if stems[index] is None:
                    stems[index] = memo[piece] = self.piece(piece)
        return " " + " ".join(stems) + " "  # type: ignore[arg-type]

    def phrase(self, text: str) -> str:
        """A phrase's stems, as `words` finds them in a text ("" when it holds no word)."""
        return " ".join(self.words(text.lower()).split())

    def piece(self, piece: str) -> str:
        """The stems of a piece of text without whitespace ("" for punctuation; two words
        for a contraction or a hyphenated word)."""
        word = piece.strip(_EDGES)
        if word.isalnum():  # the usual case: one word, maybe with punctuation around it
            return word if word.isdigit() else self._word(word)
        words = _WORD.findall(piece.replace("’", "'"))
        return " ".join(self._word(w) for w in words)

    def _word(self, word: str) -> str:
        if not self._english or ("'" not in word and word != "cannot"):
            return str(self._stem(word))
        if word in _NOT:
            return f"{self._stem(_NOT[word])} not"
        if word.endswith("n't"):
            return f"{self._stem(word[:-3])} not"
        for clitic in _CLITICS:
            if word.endswith(clitic):
                return str(self._stem(word[: -len(clitic)]))
        return str(self._stem(word))


class WordScanner:
    """Every phrase the rules look for by stems in one field and language, found in one pass.

    Each stem the rules look for (a phrase's or a `similar_to` example's) gets a character of
    its own, and every other word is a space: a ticket's text becomes a short string, one
    character per word, memoised line by line and per piece of text. A phrase is then a
    substring of one of its runs of characters between spaces ("billed twice" of the run for
    "i was billed twice", where "i" and "was" have characters too).

    What `read` reports is a bit mask: one bit per phrase and one per stem's character (a
    one-word phrase and its stem share theirs), so a condition is one `&` and the reading of
    a text one `|` per run. Runs come back from ticket to ticket ("can not log in", "invoic"),
    so each run's mask is memoised, its phrases found with an Aho-Corasick automaton the
    first time.
    """

    def __init__(self, language: str = DEFAULT_LANGUAGE) -> None:
        self.stemming = Stemming(language)
        self.phrases: set[str] = set()  # as keys: one character per stem
        self._codes: dict[str, str] = {}  # stem -> its character
        self._bits: dict[str, int] = {}  # phrase key or stem character -> its bit
        self._memo: dict[str, str] = {}  # piece of text -> its characters
        self._lines: dict[str, str] = {}  # line of text -> its characters
        self._line_chars = 0  # the characters of the lines in `_lines`
        self._runs: dict[str, int] = {}  # run of characters -> its mask
        self._automaton: Any = None

    def code(self, stem: str) -> str:
        """The stem's character, given to it the first time it is wanted."""
        found = self._codes.get(stem)
        if found is None:
            found = self._codes[stem] = _code(len(self._codes))
            self._bit(found)
            self._memo, self._lines, self._line_chars = {}, {}, 0  # read text may hold it
        return found

    def codes(self, stems: Iterable[str]) -> frozenset[str]:
        """The characters of stems (wanting them)."""
        return frozenset(self.code(stem) for stem in stems)

    def add(self, phrases: Iterable[str]) -> frozenset[str]:
        """Register phrases; returns their keys (see `mask`). Raises ValueError naming a
        phrase that holds no word."""
        keys = set()
        for phrase in phrases:
            stems = self.stemming.phrase(phrase).split()
            if not stems:
                raise ValueError(f"{phrase!r} holds no word")
            keys.add("".join(self.code(stem) for stem in stems))
        if not keys <= self.phrases:
            self.phrases |= keys
            for key in keys:
                self._bit(key)
            self._automaton, self._runs = None, {}
        return frozenset(keys)

    def mask(self, keys: Iterable[str]) -> int:
        """The bits of phrase keys or stem characters, as `read` reports them found."""
        mask = 0
        for key in keys:
            mask |= self._bits[key]
        return mask

    def read(self, value: Any) -> int:
        """The mask of the registered phrases and of the wanted stems' characters in a text
        or texts (any case)."""
        if value is None:
            return 0
        if value.__class__ is tuple or value.__class__ is list:  # a phrase lies within one item
            return reduce(or_, [self.read(v) for v in value], 0)
        # Line by line: greetings, signatures, quoted replies and the ticket's own text on
        # later cycles come back again and again, so most lines are one lookup. Lines joined
        # as they are give the same characters as the whole text read piece by piece (a line
        # break is whitespace, like the spaces between pieces).
        memo = self._lines
        lines = str(value).split("\n")
        kept = list(map(memo.get, lines))
        # `all` first: a truth test per item is cheap, `None in` compares each with None; only
        # a line not seen before (None) or a blank one ("") gets past it.
        if not all(kept) and None in kept:
            for index, line in enumerate(lines):
                if kept[index] is None:
                    kept[index] = self._remember(line)
        # No phrase holds a space, so each lies within one run of characters.
        runs = "".join(kept).split()  # type: ignore[arg-type]
        known = self._runs
        masks = list(map(known.get, runs))
        if not all(masks):  # a mask is never 0 (it holds its run's characters): None is new
            if len(known) > _MEMO_LIMIT:
                known.clear()
            for index, run in enumerate(runs):
                if masks[index] is None:
                    masks[index] = known[run] = self._run(run)
        return reduce(or_, masks, 0)

    def _remember(self, line: str) -> str:
        """A line's characters (`_line`), remembered within `_LINE_MEMO_CHARS`."""
        held = self._line_chars + len(line)
        if held > _LINE_MEMO_CHARS:
            self._lines.clear()
            held = len(line)
        self._line_chars = held
        self._lines[line] = codes = self._line(line)
        return codes

    def _line(self, line: str) -> str:
        """A line (any case) as characters: one per stem, a space for stems no rule looks
        for."""
        memo = self._memo
        pieces = line.lower().split()
        kept = list(map(memo.get, pieces))
        if None in kept:
            if len(memo) > _MEMO_LIMIT:
                memo.clear()
            codes = self._codes
            for index, piece in enumerate(pieces):
                if kept[index] is None:
                    stems = self.stemming.piece(piece).split()
                    kept[index] = memo[piece] = "".join([codes.get(s, " ") for s in stems]) or " "
        return "".join(kept)  # type: ignore[arg-type]

    def _run(self, run: str) -> int:
        """The mask of a run of characters: its characters and the phrases within it."""
        keys = set(run)
        if self.phrases:
            automaton = self._automaton or self._build()
            keys.update(key for _end, key in automaton.iter(run))
        return self.mask(keys)

    def _bit(self, key: str) -> int:
        found = self._bits.get(key)
        if found is None:
            found = self._bits[key] = 1 << len(self._bits)
        return found

    def _build(self) -> Any:
        automaton = ahocorasick.Automaton()
        for key in self.phrases:
            automaton.add_word(key, key)
        automaton.make_automaton()
        self._automaton = automaton
        return automaton


# The characters stems get, in order: first the code points under 256 that are not whitespace
# (CPython keeps one shared object for each, so taking a run apart allocates nothing), then
# Unicode's private use areas.
_CHEAP_CODES = [c for c in map(chr, range(0x21, 0x100)) if not c.isspace()]


def _code(n: int) -> str:
    """The character of the n-th stem a scanner wants."""
    if n < len(_CHEAP_CODES):
        return _CHEAP_CODES[n]
    n -= len(_CHEAP_CODES)
    return chr(0xE000 + n if n < 6400 else 0xF0000 + n - 6400)


class Fuzzy:
    """Phrases that match whole words of the text spelled at least `threshold`% alike."""

    def __init__(self, phrases: Iterable[str], threshold: float) -> None:
        self.phrases = tuple(" ".join(p.lower().split()) for p in phrases)
        self.threshold = float(threshold)

    def __call__(self, text: Any) -> bool:
        if text is None:
            return False
        if text.__class__ is tuple:
            return any(self(item) for item in text)
        text = str(text)
        return any(self._holds(phrase, text) for phrase in self.phrases)

    def _holds(self, phrase: str, text: str) -> bool:
        cutoff, offset, size = self.threshold, 0, len(text)
        while offset < size:
            found = fuzz.partial_ratio_alignment(phrase, text[offset:], score_cutoff=cutoff)
            if found is None:
                return False
            start, end = offset + found.dest_start, offset + found.dest_end
            while start < end and not text[start].isalnum():
                start += 1
            while end > start and not text[end - 1].isalnum():
                end -= 1
            # Whole words: widen the match to the words it touches and compare again, so
            # "down" is not found in "download" nor "charge" in "recharged".
            while start > 0 and text[start - 1].isalnum():
                start -= 1
            while end < size and text[end].isalnum():
                end += 1
            if fuzz.ratio(phrase, " ".join(text[start:end].split()), score_cutoff=cutoff):
                return True
            offset = max(end, offset + 1)
        return False


class SimilarityIndex:
    """The examples of every `similar_to` on one field and language, for their word weights.

    A stem's weight is its inverse document frequency among all the examples of the rule set,
    1 + ln(N / df): a stem in every example weighs 1, one in a single example of 30 about 4.4.
    Function words weigh 0. Weights are fixed the first time a condition is evaluated.
    """

    def __init__(self, scanner: WordScanner) -> None:
        self.scanner = scanner
        self.documents: list[frozenset[str]] = []
        self._weights: dict[str, float] | None = None
        self._stop = frozenset(
            scanner.stemming.phrase(w) for w in STOPWORDS.get(scanner.stemming.language, ())
        )

    def stems(self, example: str) -> frozenset[str]:
        """The stems of an example that count. Raises ValueError when none does."""
        stems = frozenset(self.scanner.stemming.phrase(example).split()) - self._stop
        if not stems:
            raise ValueError(f"{example!r} holds no word that counts (only common words)")
        return stems

    def add(self, examples: list[frozenset[str]]) -> None:
        """Register the stem sets of a condition's examples."""
        self.documents += examples
        self._weights = None

    def weights(self) -> dict[str, float]:
        """Each stem's weight (computed once)."""
        if self._weights is None:
            count = len(self.documents)
            frequency: dict[str, int] = {}
            for stems in self.documents:
                for stem in stems:
                    frequency[stem] = frequency.get(stem, 0) + 1
            self._weights = {s: 1.0 + math.log(count / n) for s, n in frequency.items()}
        return self._weights


class Similarity:
    """A ticket holds at least `threshold`% of one example's weighted stems."""

    def __init__(self, index: SimilarityIndex, examples: list[str], threshold: float) -> None:
        """Raises ValueError naming an example that holds no word that counts."""
        self.index = index
        self.examples = tuple(examples)
        self.threshold = float(threshold)
        self._sets = [index.stems(example) for example in examples]
        index.add(self._sets)
        self.vocabulary = index.scanner.codes(frozenset().union(*self._sets))
        self.vocabulary_mask = index.scanner.mask(self.vocabulary)
        self._vocabulary_bits = [(c, index.scanner.mask(c)) for c in self.vocabulary]
        self._weighted: list[tuple[float, dict[str, float]]] | None = None
        # No example reaches the threshold with fewer of its stems found (1 until the
        # weights are fixed, at the first call): a text's mask with fewer of the vocabulary's
        # bits is not similar, which conditions test before calling.
        self.fewest = 1

    def score(self, stems: frozenset[str] | set[str]) -> float:
        """The best example's share (0-100) of weighted stems found in `stems` (stems'
        characters, as `WordScanner.code` gives them)."""
        common = self.vocabulary.intersection(stems)
        if not common:
            return 0.0
        best = 0.0
        for total, weights in self._weighted or self._weigh():
            found = sum([weights[s] for s in common if s in weights])
            best = max(best, 100.0 * found / total)
        return round(best, 6)  # 3 of 4 equal weights is 75, not 74.99999999999999

    def __call__(self, mask: int) -> bool:
        """Whether the score of a text (its `WordScanner.read` mask) reaches the threshold;
        most tickets hold too few of the examples' stems to reach it, which one `&` tells."""
        if self._weighted is None:
            self._weigh()
        common = mask & self.vocabulary_mask
        if common.bit_count() < self.fewest:
            return False
        found = {c for c, bit in self._vocabulary_bits if common & bit}
        return self.score(found) >= self.threshold

    def _weigh(self) -> list[tuple[float, dict[str, float]]]:
        weights = self.index.weights()
        weighted = []
        fewest = None
        code = self.index.scanner.code
        for example in self._sets:
            mine = {code(s): weights[s] for s in example}
            total = sum(mine.values())
            weighted.append((total, mine))
            # The fewest stems of this example that can reach the threshold: its heaviest.
            running, count = 0.0, 0
            for weight in sorted(mine.values(), reverse=True):
                running += weight
                count += 1
                if round(100.0 * running / total, 6) >= self.threshold:
                    break
            fewest = count if fewest is None else min(fewest, count)
        self.fewest = fewest or 1
        self._weighted = weighted
        return weighted
