"""Split the hand-graded validity answers into a tuning part and a held-out part, once.

Rule (docs/grading.md): per batch and item, answers are ordered by the SHA-256 of
``"readycheck-validity:" + answer id``; the first ceil(35%) of each item's answers in each batch
are held out. The split depends only on the ids and batches, so it is stable when answers are
corrected, a later batch never moves an earlier batch's answers, and it never looks at grades,
kinds or what the grader makes of them. Rows without a ``batch`` are batch 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

HELD_OUT_SHARE = 0.35


def _order(answer_id: str) -> str:
    return hashlib.sha256(f"readycheck-validity:{answer_id}".encode()).hexdigest()


def batch_of(row: dict[str, object]) -> int:
    """The batch an answer was written in (1 when the row does not say)."""
    return int(str(row.get("batch", 1)))


def main() -> int:
    """Read the staging files and write tune.jsonl and holdout.jsonl."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("staging", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("tests/validity"))
    args = parser.parse_args()
    by_item: dict[tuple[int, str], list[dict[str, object]]] = defaultdict(list)
    seen: set[str] = set()
    for path in args.staging:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if row["id"] in seen:
                sys.exit(f"{path}:{number}: duplicate id {row['id']}")
            seen.add(str(row["id"]))
            by_item[(batch_of(row), str(row["item_id"]))].append(row)
    tune: list[dict[str, object]] = []
    held: list[dict[str, object]] = []
    for group in sorted(by_item):
        rows = sorted(by_item[group], key=lambda r: _order(str(r["id"])))
        cut = math.ceil(len(rows) * HELD_OUT_SHARE)
        held += sorted(rows[:cut], key=lambda r: str(r["id"]))
        tune += sorted(rows[cut:], key=lambda r: str(r["id"]))
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("tune.jsonl", tune), ("holdout.jsonl", held)):
        text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
        (args.out / name).write_text(text, encoding="utf-8")
    items = len({item for _, item in by_item})
    sys.stdout.write(f"{len(tune)} tuning, {len(held)} held out, {items} items\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
