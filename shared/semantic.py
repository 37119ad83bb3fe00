"""Sentence similarity for the rubric: a paraphrase signal, never a fact check.

The model is WordLlama's static token embeddings, shipped inside the ``wordllama`` wheel and
loaded from the package's own folder with downloads disabled, once per worker and only when the
first open answer is graded (``import function_app`` never loads it). Static embeddings rate a
sentence with two roles swapped as close to the right one, so the rubric's claim checks decide
what is wrong; similarity only finds what is said right in other words.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Matrix = NDArray[np.float32]

# Rows the chunk table starts with; it doubles when a worker meets more distinct words.
_INITIAL_CHUNKS = 4096


class SentenceEncoder(Protocol):
    """Turns text into unit-length vectors whose dot product is their similarity."""

    @property
    def name(self) -> str:
        """The model's name and version, recorded so results say what graded them."""
        ...

    def embed(self, texts: Sequence[str]) -> Matrix:
        """One L2-normalised row per text."""
        ...

    def embed_spans(self, chunks: Sequence[str], spans: Sequence[tuple[int, int]]) -> Matrix:
        """One L2-normalised row per span (start, end) of a text's whitespace-separated chunks."""
        ...


class WordLlamaEncoder:
    """The bundled WordLlama model (256 dimensions), loaded offline from the installed package.

    A text's vector is the mean of its tokens' static embeddings, as WordLlama computes it. The
    tokenizer runs once per distinct whitespace-separated chunk and the chunk's token sum is kept;
    tokens never span whitespace, so the vectors are the model's own (checked by a test).
    """

    def __init__(self) -> None:
        import numpy as np
        import wordllama
        from wordllama import WordLlama

        folder = Path(wordllama.__file__).parent
        model = WordLlama.load(dim=256, cache_dir=folder, disable_download=True)
        self._table = np.ascontiguousarray(model.embedding, dtype=np.float32)
        self._tokenizer = model.tokenizer
        self._name = f"wordllama-{getattr(wordllama, '__version__', 'unknown')}-l2-256"
        self._rows: dict[str, int] = {}
        self._sums = np.zeros((_INITIAL_CHUNKS, self._table.shape[1]), dtype=np.float32)

    @property
    def name(self) -> str:
        """The model's name and version."""
        return self._name

    def _row(self, chunk: str) -> int:
        """The row of ``chunk``'s token sum in the chunk table, tokenising it the first time only."""
        import numpy as np

        row = self._rows.get(chunk)
        if row is None:
            ids = self._tokenizer.encode(chunk, add_special_tokens=False).ids
            row = len(self._rows)
            if row == len(self._sums):
                self._sums = np.concatenate([self._sums, np.zeros_like(self._sums)])
            self._sums[row] = self._table[ids].sum(axis=0)
            self._rows[chunk] = row
        return row

    def embed_spans(self, chunks: Sequence[str], spans: Sequence[tuple[int, int]]) -> Matrix:
        """Token-mean vectors of chunk ranges by one gather and running sums, each row normalised."""
        import numpy as np

        known = list(map(self._rows.get, chunks))
        # Chunks met before (nearly all) are one lookup each; only a new one is tokenised.
        rows = (
            [self._row(c) if row is None else row for row, c in zip(known, chunks, strict=True)]
            if None in known
            else cast("list[int]", known)
        )
        sums = self._sums[rows]
        begins = [begin for begin, _ in spans]
        ends = [end for _, end in spans]
        # A span's sum is the running sum of the chunks up to its end minus that up to its start,
        # so running sums are needed only where a span starts or ends. Each is the one before plus
        # the chunks since, added row after row: the very numbers a running sum over every chunk
        # gives, in one call per start or end rather than one step per chunk.
        marks = sorted({0, *begins, *ends})
        running = np.empty((len(marks), self._table.shape[1]), dtype=np.float32)
        running[0] = 0.0
        done = 0
        for index, mark in enumerate(marks[1:], start=1):
            if done == 0:
                # The first sum starts at chunk 0 itself, not at 0.0 + chunk 0, as a running sum does.
                np.add.reduce(sums[:mark], axis=0, out=running[index])
            elif mark == done + 1:
                np.add(running[index - 1], sums[done], out=running[index])
            else:
                # The row before the chunks to add, already counted, carries the sum so far.
                sums[done - 1] = running[index - 1]
                np.add.reduce(sums[done - 1 : mark], axis=0, out=running[index])
            done = mark
        at = {mark: index for index, mark in enumerate(marks)}
        vectors = running[[at[end] for end in ends]] - running[[at[begin] for begin in begins]]
        # np.linalg.norm's own arithmetic for rows, without its checks.
        norms = np.sqrt(np.add.reduce(vectors * vectors, axis=1, keepdims=True))
        norms[norms == 0] = 1.0
        vectors /= norms
        return vectors

    def embed(self, texts: Sequence[str]) -> Matrix:
        """Embed whole texts, each row normalised."""
        chunks: list[str] = []
        spans: list[tuple[int, int]] = []
        for text in texts:
            words = text.split()
            spans.append((len(chunks), len(chunks) + len(words)))
            chunks += words
        return self.embed_spans(chunks, spans)


@lru_cache(maxsize=1)
def default_encoder() -> SentenceEncoder:
    """The shipped model, loaded once per worker on first use."""
    return WordLlamaEncoder()
