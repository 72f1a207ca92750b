"""A stateful stand-in for Adobe IMS and the Platform APIs the Stripe source uses (see server.py)."""

from .faults import Fault
from .server import AepSimulator, RecordedRequest

__all__ = ["AepSimulator", "Fault", "RecordedRequest"]
