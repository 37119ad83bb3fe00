"""ReadyCheck's Functions app: registers the blueprints and nothing else."""

import azure.functions as func

from blueprints.health import bp as health_bp

app = func.FunctionApp()
app.register_functions(health_bp)
