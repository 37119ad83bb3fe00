"""Sample answer sheets for fictional candidates, rebuilt by ``python -m samples.build``."""
