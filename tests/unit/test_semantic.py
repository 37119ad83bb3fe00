"""The shipped sentence model: loads offline and gives WordLlama's own vectors."""

from __future__ import annotations

import random
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


def test_span_vectors_are_the_differences_of_one_running_sum_over_every_chunk() -> None:
    # The encoder keeps running sums only where spans start or end; the vectors must be, to the bit,
    # those of a running sum over every chunk, as a span may sit anywhere in a batch of answers.
    encoder = WordLlamaEncoder()
    model = WordLlama.load(dim=256, cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    table = np.ascontiguousarray(model.embedding, dtype=np.float32)
    rng = random.Random(7)
    chunks = [rng.choice(" ".join(TEXTS).split()) for _ in range(300)]
    spans = [(0, 0), (0, 1), (0, 300), (299, 300), (5, 6), (6, 7), (7, 40)]
    for _ in range(60):
        begin = rng.randrange(300)
        spans.append((begin, min(300, begin + rng.randrange(1, 25))))
    sums = [table[model.tokenizer.encode(c, add_special_tokens=False).ids].sum(axis=0) for c in chunks]
    running = np.zeros((len(chunks) + 1, table.shape[1]), dtype=np.float32)
    np.cumsum(np.array(sums, dtype=np.float32), axis=0, out=running[1:])
    bounds = np.array(spans)
    expected = running[bounds[:, 1]] - running[bounds[:, 0]]
    norms = np.linalg.norm(expected, axis=1, keepdims=True)
    expected = np.asarray(expected / np.where(norms == 0, 1.0, norms), dtype=np.float32)
    assert encoder.embed_spans(chunks, spans).tobytes() == expected.tobytes()
