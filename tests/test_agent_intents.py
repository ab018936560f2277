"""What the offline agent reads from a message's words: quantities, comparisons, colours and
which turns came before the message being answered. Pure functions, no database."""
from __future__ import annotations

import pytest

from app.ai.compare import named_phrases
from app.ai.intents import quantity, wants_change
from app.ai.memory import colours, earlier


@pytest.mark.parametrize("text, qty, change", [
    ("make that 3", 3, True), ("make it two", 2, True), ("change it to 4", 4, True),
    ("3 instead", 3, True), ("2 of those", 2, False), ("one of those", 1, False),
    ("I'll take the blue one", None, False), ("which one is cheaper?", None, False),
    ("give me 90% off", None, False), ("ok le lunga 2", 2, False), ("teen chahiye", 3, False),
])
def test_quantities_and_changes(text, qty, change):
    assert (quantity(text), wants_change(text)) == (qty, change)


@pytest.mark.parametrize("text, phrases", [
    ("Which is cheaper, the indigo kurta or the mustard kurti?", ["indigo kurta", "mustard kurti"]),
    ("indigo kurta ya mustard kurti, kaunsa sasta hai?", ["indigo kurta", "mustard kurti"]),
    ("wich one is sastha, sage saree ya maroon saree", ["sage saree", "maroon saree"]),
    ("difference between the phulkari dupatta and the indigo kurta", ["phulkari dupatta", "indigo kurta"]),
    ("X vs Y vs Zari saree", ["zari saree"]),  # one-letter words name nothing
    ("which is cheaper, the kurta or the lehenga?", ["kurta", "lehenga"]),  # not "mehenga"
    ("Too expensive, do you have something cheaper than the maroon saree?", ["maroon saree"]),
])
def test_the_products_a_comparison_names(text, phrases):
    assert named_phrases(text) == phrases


def test_colour_families_include_shade_names_and_hindi():
    assert colours("the blue one") == {"blue"} and "blue" in colours("Indigo Block-Print Kurta")
    assert colours("teal") == {"blue", "green"} and colours("laal wala") == {"red"}
    assert colours("the cotton one") == set()


def test_the_message_being_answered_is_not_its_own_context():
    turns = [{"role": "user", "content": "yes"}, {"role": "assistant", "content": "Which one?"},
             {"role": "user", "content": "yes"}, {"role": "assistant", "content": "Order ORD-1 link"}]
    assert earlier(turns, "yes") == turns[:2]
    assert earlier([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}], "a\nb") == []
    assert earlier(None, "hi") == []
