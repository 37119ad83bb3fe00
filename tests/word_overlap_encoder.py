"""A stand-in sentence encoder for unit tests: similarity is the overlap of stemmed words."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from shared.rubric import tokens

DIMENSIONS = 512


class WordOverlapEncoder:
    """Bag-of-words vectors, so two sentences are similar exactly when they share words."""

    name = "word-overlap-test-encoder"

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One normalised row per text."""
        rows = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in tokens(text):
                bucket = int(hashlib.sha256(word.encode()).hexdigest(), 16) % DIMENSIONS
                rows[row, bucket] += 1.0
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return np.asarray(rows / np.where(norms == 0, 1.0, norms), dtype=np.float32)

    def embed_spans(self, chunks: Sequence[str], spans: Sequence[tuple[int, int]]) -> NDArray[np.float32]:
        """One normalised row per span of chunks."""
        return self.embed([" ".join(chunks[start:end]) for start, end in spans])
