"""Retrieving the tenant's knowledge chunks relevant to a message (BM25 via rank_bm25).

The index is built once per version of the tenant's content (`app.services.tenant_content`)
and rebuilt as soon as a document changes, so an edited document changes the next reply:
there is no separate training step to forget.
"""
from __future__ import annotations

from dataclasses import dataclass

from rank_bm25 import BM25Okapi

from app.ai.catalog import keywords

MAX_CHUNKS = 2000


@dataclass(frozen=True)
class Knowledge:
    chunks: tuple[str, ...] = ()
    terms: tuple[tuple[str, ...], ...] = ()
    bm25: BM25Okapi | None = None

    @classmethod
    def build(cls, chunks: list[str]) -> Knowledge:
        if not chunks:
            return cls()
        terms = tuple(tuple(keywords(c) or ["_"]) for c in chunks)
        return cls(tuple(chunks), terms, BM25Okapi([list(t) for t in terms]))

    def retrieve(self, query: str, k: int = 3) -> list[str]:
        """The k chunks sharing a word with the question, best BM25 score first.

        BM25's idf goes negative for a term in most documents (always, with one document),
        so relevance is "shares a word with the question", and the score only ranks."""
        asked = keywords(query)
        if self.bm25 is None or not asked:
            return []
        scores = self.bm25.get_scores(asked)
        wanted = set(asked)
        ranked = sorted((i for i, t in enumerate(self.terms) if wanted.intersection(t)),
                        key=lambda i: scores[i], reverse=True)
        return [self.chunks[i] for i in ranked[:k]]

