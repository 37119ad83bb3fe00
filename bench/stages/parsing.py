"""Parsing: ReadyCheck's parse + validate against pandas+openpyxl, fastexcel and the I/O floor."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

from bench.context import Context, run_child
from bench.inputs import EXCEL_DATES, SHAPES, FormsShape, InputsUnavailable, forms_export
from bench.measure import Series, StageResult, at_least, at_most, unavailable

TARGETS_5K = [
    "parse + validate 5,000 rows >= 10x faster than pandas+openpyxl",
    "parse + validate 5,000 rows <= 6x the I/O floor",
]
TARGETS_50K = ["parse + validate 50,000 rows <= 2.5 s", "parse + validate 50,000 rows <= 600 MB peak RSS"]
READYCHECK = "ReadyCheck parse_workbook (parse + validate)"
OPENPYXL = "baseline: pandas.read_excel(engine=openpyxl)"
FASTEXCEL = "reference: fastexcel -> pandas (read only)"
FLOOR = "baseline: I/O floor (unzip + read sheet XML)"
_BUDGET_SECONDS = 60.0


def read_floor(data: bytes) -> None:
    """The I/O floor: inflate every worksheet and the shared strings, nothing parsed."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        for name in book.namelist():
            if name.startswith("xl/worksheets/") or name == "xl/sharedStrings.xml":
                book.read(name)


def read_openpyxl(data: bytes) -> None:
    """The naive way: pandas over openpyxl."""
    import pandas as pd

    pd.read_excel(io.BytesIO(data), engine="openpyxl")


def read_fastexcel(data: bytes) -> None:
    """The fast reader alone (Rust calamine via Arrow), without ReadyCheck's validation."""
    import fastexcel

    fastexcel.read_excel(data).load_sheet(0).to_pandas()


def read_readycheck(data: bytes) -> None:
    """ReadyCheck's own parse + validate, with limits raised to admit the benchmark inputs."""
    from shared.adapters.workbook_parser import parse_workbook
    from shared.bank import load_bank
    from shared.settings import ParseLimits

    limits = ParseLimits(max_upload_bytes=1 << 30, max_uncompressed_bytes=1 << 31, max_rows=1_000_000)
    parse_workbook(data, load_bank(), limits)


READERS: dict[str, Callable[[bytes], None]] = {
    READYCHECK: read_readycheck,
    OPENPYXL: read_openpyxl,
    FASTEXCEL: read_fastexcel,
    FLOOR: read_floor,
}


def _parser_missing() -> str | None:
    try:
        from shared.adapters import workbook_parser

        workbook_parser.parse_workbook  # noqa: B018 - the attribute is what must exist
    except (ImportError, AttributeError) as err:
        return f"shared.adapters.workbook_parser.parse_workbook cannot be imported ({err})"
    return None


def _measure(ctx: Context, rows: int, readers: list[str], shape: FormsShape = EXCEL_DATES) -> list[Series]:
    path = forms_export(ctx.inputs, rows, shape)
    warmup = forms_export(ctx.inputs, min(rows, 20), shape)
    samples: dict[str, list[float]] = {name: [] for name in readers}
    peaks: dict[str, float] = dict.fromkeys(readers, 0.0)
    # Readers alternate within each round so load from other users of the machine hits them alike.
    for _ in range(ctx.repeat):
        for name in readers:
            if sum(samples[name]) > _BUDGET_SECONDS:
                continue  # far off any target already: more runs would only make `make bench` crawl
            result = run_child("read", {"reader": name, "path": str(path), "warmup": str(warmup)})
            samples[name].append(result["seconds"])
            peaks[name] = max(peaks[name], result["peak_rss_mb"])
    return [
        Series(
            name,
            samples[name],
            peak_rss_mb=peaks[name],
            baseline_of=None if name == READYCHECK else READYCHECK,
            note=f"{rows:,} respondents, {shape.label}, {path.stat().st_size / 1e6:.1f} MB file",
        )
        for name in readers
    ]


def run_5k(ctx: Context) -> list[StageResult]:
    """Parse + validate a 5,000-respondent Forms export of every shape against every baseline."""
    return [_run_5k_shape(ctx, shape) for shape in SHAPES]


def _run_5k_shape(ctx: Context, shape: FormsShape) -> StageResult:
    # Today's input keeps the stage's first name, so earlier results stay comparable.
    stage = "parse 5,000 rows" + ("" if shape is EXCEL_DATES else f" ({shape.label})")
    missing = _parser_missing()
    try:
        readers = [OPENPYXL, FASTEXCEL, FLOOR] + ([] if missing else [READYCHECK])
        series = _measure(ctx, ctx.rows(5_000), readers, shape)
    except InputsUnavailable as err:
        return unavailable(stage, str(err), TARGETS_5K)
    by_name = {s.name: s for s in series}
    ratios = {"pandas+openpyxl / fastexcel": by_name[OPENPYXL].median / by_name[FASTEXCEL].median}
    result = StageResult(stage=stage, series=series, ratios=ratios, unavailable=missing)
    if missing:
        result.targets = unavailable(stage, missing, TARGETS_5K).targets
        return result
    ours = by_name[READYCHECK].median
    speedup = by_name[OPENPYXL].median / ours
    over_floor = ours / by_name[FLOOR].median
    ratios |= {"speed-up over pandas+openpyxl": speedup, "ReadyCheck / I/O floor": over_floor}
    result.targets = [
        at_least(TARGETS_5K[0], speedup, 10, f"{speedup:.1f}x faster"),
        at_most(TARGETS_5K[1], over_floor, 6, f"{over_floor:.1f}x the floor"),
    ]
    result.profile = _profile(ctx, shape)
    return result


def _profile(ctx: Context, shape: FormsShape) -> str:
    """Where ReadyCheck's parse spends its time on this shape (guard, calamine, the rules)."""
    # In a child, like the timed runs: parsing here would raise the peak RSS later children inherit.
    args = {
        "reader": READYCHECK,
        "path": str(forms_export(ctx.inputs, ctx.rows(5_000), shape)),
        "warmup": str(forms_export(ctx.inputs, 20, shape)),
        "top": "8",
    }
    return str(run_child("profile", args)["profile"])


def run_50k(ctx: Context) -> StageResult:
    """Parse + validate a 50,000-respondent export: seconds and peak RSS (openpyxl is too slow to join)."""
    stage = "parse 50,000 rows"
    missing = _parser_missing()
    if missing:
        return unavailable(stage, missing, TARGETS_50K)
    try:
        # The 5,000-row stage already smoke-tests the baselines; --quick runs only ours here.
        readers = [READYCHECK] if ctx.quick else [FASTEXCEL, FLOOR, READYCHECK]
        series = _measure(ctx, ctx.rows(50_000), readers)
    except InputsUnavailable as err:
        return unavailable(stage, str(err), TARGETS_50K)
    ours = series[-1]
    return StageResult(
        stage=stage,
        series=series,
        ratios={"ReadyCheck / fastexcel read": ours.median / series[0].median} if len(series) > 1 else {},
        targets=[
            at_most(TARGETS_50K[0], ours.median, 2.5, f"{ours.median:.2f} s median"),
            at_most(TARGETS_50K[1], ours.peak_rss_mb or 0.0, 600, f"{ours.peak_rss_mb:.0f} MB peak RSS"),
        ],
    )
