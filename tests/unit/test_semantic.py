"""The shipped sentence model: loads offline and gives WordLlama's own vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import wordllama
from wordllama import WordLlama

from shared.semantic import WordLlamaEncoder, default_encoder

TEXTS = [
    "FastAPI is async-native, Django's ORM isn't; use run_in_executor() for blocking I/O.",
    "Each service keeps its own private data store that nobody else reads.",
    "ok",
]


def test_chunked_vectors_equal_the_models_own() -> None:
    model = WordLlama.load(dim=256, cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    ours = WordLlamaEncoder().embed(TEXTS)
    theirs = model.embed(TEXTS, norm=True)
    assert np.allclose(np.sum(ours * theirs, axis=1), 1.0, atol=1e-5)


def test_span_vectors_equal_the_vectors_of_the_same_words() -> None:
    encoder = default_encoder()
    words = TEXTS[1].split()
    spans = [(0, len(words)), (2, 6)]
    direct = encoder.embed([TEXTS[1], " ".join(words[2:6])])
    assert np.allclose(encoder.embed_spans(words, spans), direct, atol=1e-6)


def test_the_model_loads_once_per_worker() -> None:
    assert default_encoder() is default_encoder()
