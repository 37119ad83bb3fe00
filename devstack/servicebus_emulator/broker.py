"""The AMQP 1.0 side of the emulator: links, deliveries, CBS and ``$management``, on one proton reactor."""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

from proton import (
    Array,
    Condition,
    Data,
    Delivery,
    Endpoint,
    Event,
    Handler,
    Link,
    Message,
    symbol,
    timestamp,
)
from proton.handlers import FlowController
from proton.reactor import ApplicationEvent, Container, EventInjector

from devstack.servicebus_emulator.amqp_codec import (
    BATCH_MESSAGE_FORMAT,
    MalformedMessageError,
    batch_messages,
    lock_token_tag,
    parse_message,
)
from devstack.servicebus_emulator.config import QueueConfig
from devstack.servicebus_emulator.entities import DEAD_LETTER_SUFFIX, Entity, Settlement
from devstack.servicebus_emulator.frame_trace import watch_frame_formats
from devstack.servicebus_emulator.persistence import Persistence

log = logging.getLogger("servicebus_emulator")
_T = TypeVar("_T")

MANAGEMENT_SUFFIX = "/$management"
CBS_NODE = "$cbs"
TICK_SECONDS = 0.05
# Credit the broker grants each sending client link; large enough that batching is never throttled.
RECEIVE_CREDIT = 1000
LOCK_LOST = (
    "The lock supplied is invalid. Either the lock expired, or the message has already been removed "
    "from the queue."
)
_SETTLEMENTS = {
    "completed": Settlement.COMPLETE,
    "abandoned": Settlement.ABANDON,
    "defered": Settlement.DEFER,
    "suspended": Settlement.DEAD_LETTER,
}


def entity_path(address: str | None) -> str:
    """The lower-cased entity path of an address: ``amqps://host:5672/q/$management`` -> ``q/$management``."""
    text = (address or "").strip()
    if "://" in text:
        text = text.split("://", 1)[1]
        text = text.split("/", 1)[1] if "/" in text else ""
    return text.strip("/").lower()


_Handler = TypeVar("_Handler", bound=Callable[..., None])


def _guarded(handler: _Handler) -> _Handler:
    """Keep the broker serving when one event fails: log it and close only that client's connection."""

    @functools.wraps(handler)
    def run(self: Broker, event: Event) -> None:
        try:
            handler(self, event)
        except Exception:
            log.exception("error while handling %s; closing that connection", event.type)
            connection = event.connection
            if connection is not None and not connection.state & Endpoint.LOCAL_CLOSED:
                connection.condition = _error("amqp:internal-error", "The emulator failed on this request.")
                connection.close()

    return run  # type: ignore[return-value]


class Broker(Handler):
    """Serves queues over AMQP 1.0 the way the azure-servicebus SDK expects Service Bus to."""

    def __init__(self, queues: list[QueueConfig], store: Persistence) -> None:
        super().__init__()
        self.handlers = [FlowController(RECEIVE_CREDIT)]
        self.store = store
        self.entities: dict[str, Entity] = {}
        for config in queues:
            main = Entity(config.name.lower(), config, store, is_dead_letter=False)
            dead = Entity(config.name.lower() + DEAD_LETTER_SUFFIX, config, store, is_dead_letter=True)
            main.dead_letter_target = dead
            self.entities[main.path] = main
            self.entities[dead.path] = dead
        for config in queues:
            if config.forward_dead_lettered_to:
                target = self.entities.get(config.forward_dead_lettered_to.lower())
                if target is None:
                    raise ValueError(
                        f"queue {config.name}: ForwardDeadLetteredMessagesTo names an unknown queue "
                        f"{config.forward_dead_lettered_to!r}"
                    )
                self.entities[config.name.lower()].dead_letter_target = target
        self.consumers: dict[str, list[Link]] = defaultdict(list)
        self._round_robin: dict[str, int] = defaultdict(int)
        self.injector = EventInjector()
        self.container: Container | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def on_reactor_init(self, event: Event) -> None:
        """Start the periodic tick that expires locks and messages and releases scheduled ones."""
        self.container = event.container
        event.container.selectable(self.injector)
        event.container.schedule(TICK_SECONDS, self)

    def on_timer_task(self, event: Event) -> None:
        """Apply time-based rules, then hand out whatever became available."""
        event.container.schedule(TICK_SECONDS, self)
        now = time.time()
        for entity in self.entities.values():
            try:
                if entity.tick(now):
                    self.store.commit()
                    self.dispatch(entity)
            except Exception:
                log.exception("error while applying timed rules to %s", entity.path)

    def on_shutdown(self, _event: ApplicationEvent) -> None:
        """Stop the reactor (injected from the SIGTERM handler)."""
        log.info("shutting down")
        self.injector.close()
        if self.container is not None:
            self.container.stop()

    def request_shutdown(self) -> None:
        """Ask the reactor thread to stop; safe from a signal handler or another thread."""
        self.injector.trigger(ApplicationEvent("shutdown"))

    # -- connections, sessions, links ----------------------------------------------------------

    def on_connection_bound(self, event: Event) -> None:
        """Offer SASL ANONYMOUS and watch transfer frames for their message format."""
        transport = _present(event.transport)
        sasl = transport.sasl()
        sasl.allowed_mechs("ANONYMOUS")
        # Proton keeps Python attributes in the connection's C record, so every wrapper sees them.
        _present(event.connection).frame_formats = watch_frame_formats(transport)

    def on_connection_remote_open(self, event: Event) -> None:
        """Accept every connection (authentication happens through CBS)."""
        log.info(
            "connection opened from %s (container %s)",
            _present(event.connection).url,
            _present(event.connection).remote_container,
        )
        if _present(event.connection).state & Endpoint.LOCAL_UNINIT:
            _present(event.connection).open()

    def on_connection_remote_close(self, event: Event) -> None:
        """Close our end when the client closes."""
        log.info("connection closed from %s", _present(event.connection).url)
        _present(event.connection).close()

    def on_transport_error(self, event: Event) -> None:
        """Log protocol errors (garbage on the port, broken frames); the broker keeps running."""
        condition = _present(event.transport).condition
        log.warning("transport error: %s", condition.description if condition else "unknown")

    def on_session_remote_open(self, event: Event) -> None:
        """Accept every session."""
        if _present(event.session).state & Endpoint.LOCAL_UNINIT:
            _present(event.session).open()

    def on_session_remote_close(self, event: Event) -> None:
        """Close our end of a session."""
        _present(event.session).close()

    @_guarded
    def on_link_remote_open(self, event: Event) -> None:
        """Attach a link to a queue, its dead-letter queue, its $management node or $cbs."""
        link = _present(event.link)
        address = link.remote_source.address if link.is_sender else link.remote_target.address
        path = entity_path(address)
        link.target.copy(link.remote_target)
        link.snd_settle_mode = link.remote_snd_settle_mode
        link.rcv_settle_mode = link.remote_rcv_settle_mode
        dynamic = link.is_sender and link.remote_source.dynamic
        if dynamic:
            # A dynamic reply node (used by plain AMQP request/response clients such as the readiness probe).
            path = f"$dynamic/{uuid.uuid4()}"
        node = path.removesuffix(MANAGEMENT_SUFFIX)
        known = dynamic or path == CBS_NODE or node in self.entities
        log.info(
            "link %s %s %r (%s)",
            link.name,
            "receiving from" if link.is_sender else "sending to",
            address,
            "ok" if known else "not found",
        )
        if not known and link.is_sender:
            # Like Service Bus: the attach comes back without the unknown source, then a detach says why
            # (the SDK reports MessagingEntityNotFoundError from that detach).
            link.open()
            link.condition = _not_found(node)
            link.close()
            return
        # Service Bus echoes both terminus in its attach; the SDK rejects an attach without them.
        link.source.copy(link.remote_source)
        if dynamic:
            link.source.address = path
        link.open()
        if link.is_sender and path in self.entities:
            self.consumers[path].append(link)
            self.dispatch(self.entities[path])

    @_guarded
    def on_link_remote_close(self, event: Event) -> None:
        """Detach a link (its locks stay until they expire or are settled, as in Azure)."""
        link = _present(event.link)
        log.info("link %s detached", link.name)
        self._forget_consumer(link)
        if link.state & Endpoint.LOCAL_ACTIVE:
            link.close()

    def on_link_final(self, event: Event) -> None:
        """Drop a link that ended without a detach (e.g. its connection dropped)."""
        self._forget_consumer(_present(event.link))

    def _forget_consumer(self, link: Link) -> None:
        """Stop handing messages to a link."""
        path = entity_path(link.source.address)
        if link in self.consumers.get(path, []):
            self.consumers[path].remove(link)

    @_guarded
    def on_link_flow(self, event: Event) -> None:
        """A receiver granted credit (or asked to drain): hand out messages."""
        link = _present(event.link)
        if link.is_sender:
            path = entity_path(link.source.address)
            if path in self.entities:
                self.dispatch(self.entities[path])
            if link.drain_mode:
                link.drained()

    # -- dispatching ---------------------------------------------------------------------------

    def dispatch(self, entity: Entity) -> None:
        """Give available messages to consumers with credit, one each in turn."""
        links = self.consumers.get(entity.path)
        if not links:
            return
        now = time.time()
        while entity.has_ready():
            ready = [link for link in links if link.credit > 0 and link.state & Endpoint.LOCAL_ACTIVE]
            if not ready:
                break
            start = self._round_robin[entity.path] % len(ready)
            self._round_robin[entity.path] += 1
            sent = False
            for link in ready[start:] + ready[:start]:
                peek_lock = link.snd_settle_mode != Link.SND_SETTLED
                msg = entity.take(now, link, peek_lock=peek_lock)
                if msg is None:
                    break
                payload = entity.delivered_bytes(msg)
                tag = lock_token_tag(msg.lock_token) if msg.lock_token else uuid.uuid4().bytes_le
                delivery = link.delivery(tag)  # type: ignore[arg-type]  # proton takes bytes; its hint says str
                # Proton hands tags back as UTF-8 text, so the token also rides in the delivery's record.
                delivery.lock_token = msg.lock_token
                link.send(payload)
                link.advance()
                if not peek_lock:
                    delivery.settle()
                sent = True
            self.store.commit()
            if not sent:
                break
        for link in links:
            if link.drain_mode and link.credit > 0:
                link.drained()

    # -- deliveries ----------------------------------------------------------------------------

    @_guarded
    def on_delivery(self, event: Event) -> None:
        """A client sent a message (receiver side) or settled one we sent (sender side)."""
        delivery = _present(event.delivery)
        link = _present(event.link)
        if link.state & Endpoint.LOCAL_CLOSED:
            # A transfer that crossed our detach (e.g. to an unknown queue): the detach already answered.
            delivery.settle()
            return
        if link.is_receiver:
            if delivery.readable and not delivery.partial:
                self._on_incoming(link, delivery)
        elif delivery.updated:
            self._on_disposition(link, delivery)

    def _on_incoming(self, link: Link, delivery: Delivery) -> None:
        """Route a transfer to CBS, $management or the queue it targets."""
        raw = bytes(link.recv(delivery.pending) or b"")
        link.advance()
        frames = getattr(link.connection, "frame_formats", None)
        message_format = frames.pop(link.name) if frames else 0
        path = entity_path(link.target.address)
        node = path.removesuffix(MANAGEMENT_SUFFIX)
        if path != CBS_NODE and node not in self.entities:
            # A sender's link stays attached so that each send gets not-found as its outcome: the SDK
            # would turn a detach racing its first transfer into an unspecific "send failed".
            log.warning("rejected a transfer to the unknown entity %r", node)
            self._settle(delivery, Delivery.REJECTED, _not_found(node))
            return
        try:
            if path == CBS_NODE:
                self._on_cbs(link, raw)
                self._settle(delivery, Delivery.ACCEPTED)
            elif path.endswith(MANAGEMENT_SUFFIX):
                self._on_management(link, path[: -len(MANAGEMENT_SUFFIX)], raw)
                self._settle(delivery, Delivery.ACCEPTED)
            else:
                self._on_send(path, raw, message_format)
                self._settle(delivery, Delivery.ACCEPTED)
        except (MalformedMessageError, ValueError, KeyError, TypeError) as err:
            log.warning("rejected a transfer on %s: %s", path, err)
            self._settle(delivery, Delivery.REJECTED, _error("amqp:decode-error", str(err)))

    @staticmethod
    def _settle(delivery: Delivery, state: int, condition: Condition | None = None) -> None:
        """Settle a delivery with an outcome (and an error condition for rejections)."""
        if condition is not None:
            delivery.local.condition = condition
        delivery.update(state)
        delivery.settle()

    def _on_send(self, path: str, raw: bytes, message_format: int) -> None:
        """Store a sent message or batch durably before the send is acknowledged."""
        entity = self.entities[path]
        if entity.is_dead_letter:
            raise ValueError("messages cannot be sent to a dead-letter queue")
        encoded = batch_messages(raw) if message_format == BATCH_MESSAGE_FORMAT else [raw]
        parsed = [parse_message(item) for item in encoded]
        now = time.time()
        for item in parsed:
            entity.enqueue(item, now)
        self.store.commit()
        self.dispatch(entity)

    def _on_disposition(self, link: Link, delivery: Delivery) -> None:
        """Apply a receiver's settlement and echo the outcome (or report a lost lock)."""
        path = entity_path(link.source.address)
        entity = self.entities.get(path)
        state = delivery.remote_state
        if entity is None:
            # Replies on $cbs and $management links: the client's accept needs no echo.
            delivery.settle()
            return
        if state not in (Delivery.ACCEPTED, Delivery.REJECTED, Delivery.RELEASED, Delivery.MODIFIED):
            if delivery.settled:
                delivery.settle()
            return
        token = getattr(delivery, "lock_token", None)
        if token is None:
            delivery.settle()
            return
        reason = description = None
        if state == Delivery.ACCEPTED:
            outcome = Settlement.COMPLETE
        elif state == Delivery.REJECTED:
            outcome = Settlement.DEAD_LETTER
            reason, description = _dead_letter_details(delivery.remote.condition)
        elif state == Delivery.RELEASED:
            outcome = Settlement.RELEASE
        elif delivery.remote.undeliverable:
            outcome = Settlement.DEFER
        else:
            outcome = Settlement.ABANDON
        applied = entity.settle(token, outcome, time.time(), reason=reason, description=description)
        self.store.commit()
        if delivery.settled:
            # The client settled first (e.g. releasing on close): nothing to echo.
            delivery.settle()
        elif applied:
            # The SDK waits for the broker to settle with the same outcome it sent.
            if state == Delivery.MODIFIED:
                delivery.local.failed = True
                delivery.local.undeliverable = delivery.remote.undeliverable
            self._settle(delivery, state)
        else:
            self._settle(delivery, Delivery.REJECTED, _lock_lost())
        if applied:
            self.dispatch(entity)
            if entity.dead_letter_target is not None:
                self.dispatch(entity.dead_letter_target)

    # -- CBS and management --------------------------------------------------------------------

    def _reply(self, link: Link, request: Message, properties: dict[str, Any], body: Any) -> None:
        """Send a response on the client's receiving link for the same node (or its reply-to)."""
        node = entity_path(link.target.address)
        wanted = {node, entity_path(request.reply_to)}
        reply_link = None
        candidate = link.connection.link_head(Endpoint.LOCAL_ACTIVE)
        while candidate is not None:
            if candidate.is_sender and entity_path(candidate.source.address) in wanted:
                reply_link = candidate
                break
            candidate = candidate.next(Endpoint.LOCAL_ACTIVE)
        if reply_link is None:
            log.warning("no reply link for a request on %s", node)
            return
        # Service Bus correlates by the request's message id; plain AMQP RPC clients by correlation id.
        correlation = request.id if request.id is not None else request.correlation_id
        reply = Message(body=body, properties=properties, correlation_id=correlation)
        reply_link.send(reply)

    def _on_cbs(self, link: Link, raw: bytes) -> None:
        """Accept any token (the emulator does not authenticate)."""
        request = Message()
        request.decode(raw)
        log.info(
            "cbs %s for %s",
            _application_properties(request).get("operation"),
            _application_properties(request).get("name"),
        )
        self._reply(link, request, {"status-code": 202, "status-description": "Accepted"}, None)

    def _on_management(self, link: Link, path: str, raw: bytes) -> None:
        """Answer a ``com.microsoft:*`` management request."""
        request = Message()
        request.decode(raw)
        operation = str(_application_properties(request).get("operation", ""))
        body = request.body if isinstance(request.body, dict) else {}
        entity = self.entities[path]
        try:
            status, description, response = self._management(entity, operation, body)
        except (KeyError, TypeError, ValueError, MalformedMessageError) as err:
            status, description, response = 400, f"Bad request: {err}", None
        log.info("management %s on %s -> %s", operation, path, status)
        properties: dict[str, Any] = {"statusCode": status, "statusDescription": description}
        if status == 410:
            properties["errorCondition"] = symbol("com.microsoft:message-lock-lost")
        elif status == 404:
            properties["errorCondition"] = symbol("com.microsoft:message-not-found")
        self._reply(link, request, properties, response)
        self.store.commit()

    def _management(self, entity: Entity, operation: str, body: dict[Any, Any]) -> tuple[int, str, Any]:
        """Status code, description and response body of one management operation."""
        handler = _MANAGEMENT_OPERATIONS.get(operation.removeprefix("com.microsoft:"))
        if handler is None:
            return 501, f"The operation {operation!r} is not supported by the emulator.", None
        return handler(self, entity, body, time.time())

    def _peek(self, entity: Entity, body: dict[Any, Any], now: float) -> _Reply:
        found = entity.peek(int(body.get("from-sequence-number", 1)), int(body.get("message-count", 1)), now)
        if not found:
            return 204, "No Content", None
        return 200, "OK", {"messages": [{"message": entity.delivered_bytes(m, peeked=True)} for m in found]}

    def _renew_lock(self, entity: Entity, body: dict[Any, Any], now: float) -> _Reply:
        expirations = []
        for token in _uuids(body.get("lock-tokens")):
            until = entity.renew(token, now)
            if until is None:
                return 410, LOCK_LOST, None
            expirations.append(timestamp(int(until * 1000)))
        return 200, "OK", {"expirations": Array(Data.NULL, Data.TIMESTAMP, *expirations)}

    def _update_disposition(self, entity: Entity, body: dict[Any, Any], now: float) -> _Reply:
        outcome = _SETTLEMENTS[str(body["disposition-status"])]
        for token in _uuids(body.get("lock-tokens")):
            if not entity.settle(
                token,
                outcome,
                now,
                reason=_text(body.get("deadletter-reason")),
                description=_text(body.get("deadletter-description")),
            ):
                return 410, LOCK_LOST, None
        self._after_change(entity)
        return 200, "OK", None

    def _schedule(self, entity: Entity, body: dict[Any, Any], now: float) -> _Reply:
        seqs = [
            entity.enqueue(parse_message(bytes(item["message"])), now) for item in body.get("messages", [])
        ]
        self.store.commit()
        self._after_change(entity)
        return 200, "OK", {"sequence-numbers": Array(Data.NULL, Data.LONG, *seqs)}

    def _cancel_scheduled(self, entity: Entity, body: dict[Any, Any], now: float) -> _Reply:
        entity.cancel_scheduled([int(s) for s in _elements(body.get("sequence-numbers"))])
        return 200, "OK", None

    def _receive_deferred(self, entity: Entity, body: dict[Any, Any], now: float) -> _Reply:
        seqs = [int(s) for s in _elements(body.get("sequence-numbers"))]
        peek_lock = int(body.get("receiver-settle-mode", 1)) == 1
        if not entity.deferred_available(seqs):
            return 404, "Failed to retrieve one or more deferred messages by sequence number.", None
        messages = []
        for msg in entity.receive_deferred(seqs, now, None, peek_lock=peek_lock):
            entry: dict[str, Any] = {"message": entity.delivered_bytes(msg)}
            if msg.lock_token is not None:
                entry["lock-token"] = msg.lock_token
            messages.append(entry)
        return 200, "OK", {"messages": messages}

    def _after_change(self, entity: Entity) -> None:
        """Hand out messages made available by a management operation."""
        self.dispatch(entity)
        if entity.dead_letter_target is not None:
            self.dispatch(entity.dead_letter_target)


def _application_properties(message: Message) -> dict[Any, Any]:
    """A message's application properties (an empty map when it has none)."""
    return dict(message.properties or {})


def _present(value: _T | None) -> _T:
    """An event's endpoint, which proton types as optional but always sets for that event kind."""
    if value is None:
        raise RuntimeError("proton delivered an event without its endpoint")
    return value


def _elements(value: Any) -> list[Any]:
    """The elements of an AMQP array or list (or a single value)."""
    if value is None:
        return []
    if isinstance(value, Array):
        return list(value.elements)
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


_Reply = tuple[int, str, Any]
# Each ``com.microsoft:<operation>`` the emulator answers, by operation name.
_MANAGEMENT_OPERATIONS: dict[str, Callable[[Broker, Entity, dict[Any, Any], float], _Reply]] = {
    "peek-message": Broker._peek,
    "renew-lock": Broker._renew_lock,
    "update-disposition": Broker._update_disposition,
    "schedule-message": Broker._schedule,
    "cancel-scheduled-message": Broker._cancel_scheduled,
    "receive-by-sequence-number": Broker._receive_deferred,
}


def _uuids(value: Any) -> list[uuid.UUID]:
    """Lock tokens as UUIDs, however the client encoded them."""
    return [v if isinstance(v, uuid.UUID) else uuid.UUID(str(v)) for v in _elements(value)]


def _text(value: Any) -> str | None:
    """A string field that may arrive as str, bytes or be absent."""
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _dead_letter_details(condition: Condition | None) -> tuple[str | None, str | None]:
    """DeadLetterReason and DeadLetterErrorDescription from a Rejected outcome's error info."""
    if condition is None:
        return None, None
    info = condition.info if isinstance(condition.info, dict) else {}
    return _text(info.get("DeadLetterReason")), _text(info.get("DeadLetterErrorDescription"))


def _error(name: str, description: str) -> Condition:
    """An AMQP error with the info map Service Bus always sends (the SDK's send path indexes it)."""
    return Condition(name, description, {symbol("com.microsoft:tracking-id"): str(uuid.uuid4())})


def _not_found(node: str) -> Condition:
    """The error Service Bus gives for an entity that does not exist."""
    return _error(
        "amqp:not-found",
        f"The messaging entity '{node}' could not be found. To know more visit "
        "https://aka.ms/sbResourceMgrExceptions.",
    )


def _lock_lost() -> Condition:
    """The error Service Bus reports when a settlement comes after the lock expired."""
    return _error("com.microsoft:message-lock-lost", LOCK_LOST)
