"""The pub/sub broker: the interface and :class:`Message` (:mod:`.base`), the in-process backend (:mod:`.memory`),
the Redis backend (:mod:`.redis`) and the name of every channel (:mod:`.channels`).

Publishers (the feed, paper trading, portfolio and identity announcements) and the stream's hub depend on this
package; it depends on none of them.
"""

from kstock.broker.base import Broker, BrokerUnavailableError, Handler, Message, create_broker, new_epoch

__all__ = ["Broker", "BrokerUnavailableError", "Handler", "Message", "create_broker", "new_epoch"]
