"""ReadyCheck's command line, an entrypoint on the core's engine like the Functions app's blueprints."""
