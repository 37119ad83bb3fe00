"""A FastAPI app served through ``func.AsgiFunctionApp``, as Azure's docs show it."""

import azure.functions as func
from fastapi import FastAPI

api = FastAPI()


@api.get("/api/hello/{name}")
async def hello(name: str, greeting: str = "Hello") -> dict[str, str]:
    """Greet by name (a path and a query parameter)."""
    return {"message": f"{greeting}, {name}"}


@api.post("/api/echo")
async def echo(document: dict[str, object]) -> dict[str, object]:
    """Return the JSON body."""
    return {"received": document}


app = func.AsgiFunctionApp(app=api, http_auth_level=func.AuthLevel.ANONYMOUS)
