"""The events mode: a period's orders and receipts as SimPy events on the engine's state.

``OrderSplitter`` splits the aggregated draw into timed orders, ``OrderDesk`` serves them
one by one with the engine's rules, ``EventPeriod`` runs a period's processes.
"""

from allocsim.envs.events.orders import LocationOrders, OrderSplitter
from allocsim.envs.events.period import EventHook, EventPeriod
from allocsim.envs.events.service import OrderDesk

__all__ = ["EventHook", "EventPeriod", "LocationOrders", "OrderDesk", "OrderSplitter"]
