"""One period of the events mode as SimPy processes on the env's clock and the engine's state.

After the decision (at the period's start, time ``t``) the engine decides and dispatches;
then, within ``[t, t + 1)``: a deliveries process books each node's receipts at its time
of day (the engine's BOOK phase) and serves the backorders waiting there, first at ``t``;
one customers process per location walks its orders by arrival time and serves each on
arrival. At ``t + 1`` the engine closes the period with what was served (``service: fcfs``),
or first serves the whole period in one batch in priority order (``service: priority``,
the aggregated engine's period exactly).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy
from numpy.typing import NDArray

from allocsim.envs.actions import Fractions
from allocsim.envs.engine.core import BatchEngine
from allocsim.envs.events.orders import LocationOrders, OrderSplitter
from allocsim.envs.events.service import OrderDesk
from allocsim.envs.network import Network

#: Called after every event with its kind ("backorders", "receipt", "order", "serve", "close").
EventHook = Callable[[str], None]


class EventPeriod:
    """Runs the events mode's periods of ``engine`` (a batch of one) on a SimPy clock."""

    def __init__(self, engine: BatchEngine, net: Network, hook: EventHook | None = None) -> None:
        timing = net.scenario.timing
        self.engine = engine
        self.splitter = OrderSplitter(net)
        self.desk = OrderDesk(engine)
        self.fcfs = timing.service == "fcfs"
        self.hook = hook
        times = [timing.location_arrival.get(name, 0.0) for name in net.locations] + [timing.supplier_arrival]
        #: (time of day, nodes booked then (L + 1,), locations among them) of the late receipts
        self.deliveries: list[tuple[float, NDArray[np.bool_], list[int]]] = []
        for when in sorted({x for x in times if x > 0.0}):
            nodes = np.array([x == when for x in times])
            self.deliveries.append((when, nodes, np.flatnonzero(nodes[:-1]).tolist()))
        self.n_locations = net.n_locations
        self.receipt_events = 0

    def run(self, clock: simpy.Environment, frac: Fractions) -> Generator[simpy.Event, Any, None]:
        """The current period from its decision ``frac`` to its close (a SimPy process body)."""
        engine, start = self.engine, clock.now
        engine.dispatch_decision(frac)
        self.desk.open_period()
        processes = [clock.process(self._deliveries(clock, start))]
        if self.fcfs:
            s = engine.state
            period = int(s.period[0])
            books = self.splitter.split(s.demand_at(0, period), int(s.seed[0]), period)
            processes += [clock.process(self._customers(clock, start, loc, book))
                          for loc, book in enumerate(books) if book.time]
        yield clock.all_of(processes)
        yield clock.timeout(max(start + 1.0 - clock.now, 0.0))
        if not self.fcfs:
            engine.serve_batch()
            self._note("serve")
        engine.close_period()
        self._note("close")

    def _deliveries(self, clock: simpy.Environment, start: float) -> Generator[simpy.Event, Any, None]:
        """Receipts at their time of day; each lets the backorders waiting there take stock (FCFS)."""
        if self.fcfs:
            for loc in range(self.n_locations):
                self.desk.backorders(loc)
            self._note("backorders")
        for when, nodes, locations in self.deliveries:
            yield clock.timeout(max(start + when - clock.now, 0.0))
            self.engine.book(nodes)
            self.receipt_events += 1
            self._note("receipt")
            if self.fcfs:
                for loc in locations:
                    self.desk.backorders(loc)
                self._note("backorders")

    def _customers(self, clock: simpy.Environment, start: float, loc: int,
                   book: LocationOrders) -> Generator[simpy.Event, Any, None]:
        """One location's customers: each order is served on arrival, first come first served."""
        serve, hook, timeout = self.desk.serve_order(), self.hook, clock.timeout
        self.desk.orders += len(book.time)
        previous = clock.now - start  # 0: the process starts with the period
        for time, k, c, units in zip(book.time, book.sku, book.channel, book.units, strict=True):
            yield timeout(time - previous)  # times are sorted: never negative
            previous = time
            serve(loc, k, c, units)
            if hook is not None:
                hook("order")

    def _note(self, kind: str) -> None:
        if self.hook is not None:
            self.hook(kind)
