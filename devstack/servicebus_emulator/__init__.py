"""A local Azure Service Bus emulator over AMQP 1.0 (python-qpid-proton) for the official SDK."""

from devstack.servicebus_emulator.launch import connection_string, start_servicebus_emulator
from devstack.servicebus_emulator.startup_probe import cbs_answers

__all__ = ["cbs_answers", "connection_string", "start_servicebus_emulator"]
