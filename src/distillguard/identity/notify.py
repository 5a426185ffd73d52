"""Optional push of identity changes between replicas over Redis pub/sub.

Why on top of polling: the change-feed poll bounds how long a revoked key keeps working
(`sync_interval_s`, 1 s by default) even if a message is lost; pub/sub, which delivers at
most once, makes the usual case milliseconds. A message carries no data: it only tells
the other replicas to poll the change feed now, so a forged or lost message can neither
grant nor hide anything.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

CHANNEL = "distillguard:identity:changes"


class ChangeNotifier:
    """Publishes "something changed" and calls `on_change` when another process does."""

    def __init__(self, url: str, on_change: Callable[[], None], channel: str = CHANNEL) -> None:
        import redis

        self.channel = channel
        self._on_change = on_change
        self._r: Any = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="dg-identity-notify", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float = 5.0) -> bool:
        """True once the subscription is live (for tests and start-up checks)."""
        return self._ready.wait(timeout)

    def publish(self) -> None:
        """Best effort: the poll still bounds staleness when Redis is unreachable."""
        try:
            self._r.publish(self.channel, b"1")
        except Exception as exc:
            log.warning("identity change notification not sent: %s", exc)

    def _listen(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            pubsub = self._r.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                self._ready.set()
                backoff = 0.5
                while not self._stop.is_set():
                    msg = pubsub.get_message(timeout=0.5)
                    if msg is not None:
                        self._on_change()
            except Exception as exc:
                self._ready.clear()
                if self._stop.is_set():
                    break
                log.warning("identity change subscription lost (%s); retrying", exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                with contextlib.suppress(Exception):
                    pubsub.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self._r.close()
