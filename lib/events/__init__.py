"""Operator events out of the app: delivery with a retry queue, and the Notifier for events outside runs."""

from lib.events.delivery import DeliveryPolicy, EventDelivery, RetryReport
from lib.events.notifier import EventNotifier

__all__ = ["DeliveryPolicy", "EventDelivery", "EventNotifier", "RetryReport"]
