"""ReadyCheck's Functions app: registers the blueprints and nothing else."""

import azure.functions as func

from blueprints.admin import bp as admin_bp
from blueprints.api import bp as api_bp
from blueprints.digest import bp as digest_bp
from blueprints.grading import bp as grading_bp
from blueprints.health import bp as health_bp
from blueprints.history import bp as history_bp
from blueprints.ingest import bp as ingest_bp
from blueprints.reviews import bp as reviews_bp
from blueprints.sweeper import bp as sweeper_bp

app = func.FunctionApp()
for blueprint in (
    health_bp,
    api_bp,
    history_bp,
    admin_bp,
    ingest_bp,
    grading_bp,
    digest_bp,
    reviews_bp,
    sweeper_bp,
):
    app.register_functions(blueprint)
