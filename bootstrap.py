"""The composition root: the settings are read once, and the services and health checks built once from them.

Every trigger in ``blueprints/`` takes what it needs from :func:`app_root`; nothing else reads the
environment or builds a client. The real root is built on first use, not at import, so indexing the
app stays cheap. Tests build an :class:`AppRoot` over fakes (``AppRoot.of(world.services)``) and
hand it to :func:`use_root`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from shared.settings import Settings

if TYPE_CHECKING:
    from shared.ports import Services

HealthChecks = Mapping[str, Callable[[], None]]


class AppRoot:
    """One worker's settings, and the services and health checks built from them, each at most once."""

    def __init__(
        self,
        settings: Settings,
        build_services: Callable[[Settings], Services],
        build_health_checks: Callable[[Settings], HealthChecks],
    ) -> None:
        self.settings = settings
        self._build_services = build_services
        self._build_health_checks = build_health_checks
        self._services: Services | None = None
        self._health_checks: HealthChecks | None = None
        # Triggers run on several threads of one worker; the clients must still be built only once.
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> AppRoot:
        """The real root: settings from ``env``, Azure adapters built lazily from those settings."""
        from shared.adapters.clients import build_health_checks, build_services

        return cls(Settings.from_env(env), build_services, build_health_checks)

    @classmethod
    def of(cls, services: Services, health_checks: HealthChecks | None = None) -> AppRoot:
        """A root over services built elsewhere (tests pass fakes); its settings are the services' own."""
        checks: HealthChecks = dict(health_checks or {})
        return cls(services.settings, lambda _: services, lambda _: checks)

    @property
    def services(self) -> Services:
        """The pipeline's services, built on first use."""
        with self._lock:
            if self._services is None:
                self._services = self._build_services(self.settings)
            return self._services

    @property
    def health_checks(self) -> HealthChecks:
        """One check per backing service (for ``GET /api/health``), built on first use."""
        with self._lock:
            if self._health_checks is None:
                self._health_checks = self._build_health_checks(self.settings)
            return self._health_checks


_root: AppRoot | None = None
_root_lock = threading.Lock()


def app_root() -> AppRoot:
    """This worker's root, built from ``os.environ`` on first use."""
    global _root
    with _root_lock:
        if _root is None:
            _root = AppRoot.from_environment(os.environ)
        return _root


def use_root(root: AppRoot | None) -> None:
    """Serve every trigger from ``root`` (tests pass one over fakes); ``None``: the environment again."""
    global _root
    with _root_lock:
        _root = root
