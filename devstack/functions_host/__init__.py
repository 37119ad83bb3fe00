"""A local Azure Functions host for Python v2 apps, driven by Azurite and a Service Bus emulator.

Run it as ``python -m devstack.functions_host --app-dir DIR [--port N] [--setting KEY=VALUE]``.
It knows nothing about any particular app: it indexes ``function_app.py`` the way the
Python worker does and drives each function from the services its bindings name.
"""
