"""One module per benchmarked stage; each exposes ``run(ctx) -> StageResult``."""
