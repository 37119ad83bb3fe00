"""Local development tooling: the Service Bus emulator, the local Functions host and the stack.

Excluded from deployment by ``.funcignore``.
"""
