"""A dataflow schedule: the domain value the console input is turned into once, at validation, and that the
Platform client turns into Flow Service's ``scheduleParams`` (``stripe_aep.aep.models``).

Adobe's rules (flow-service.yaml ScheduleSpecDTO; the Stripe tutorial's "Create a flow") are written here only.
This module imports only pydantic, so the input models and the client may both use it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Frequencies Flow Service accepts (flow-service.yaml ScheduleSpecDTO).
Frequency = Literal["once", "minute", "hour", "day", "week"]
#: Seconds between validation and a default schedule's first run (Adobe rejects a start time in the past).
DEFAULT_START_DELAY_S = 60
# 10**11 epoch seconds is the year 5138: anything larger is milliseconds.
_MAX_EPOCH_SECONDS = 10**11


class Schedule(BaseModel):
    """A dataflow schedule, validated by Adobe's rules (spec ScheduleSpecDTO; tutorial "Create a flow").

    ``start_time`` (alias ``startTime``, the state machines' key) is epoch **seconds** (values that look like
    milliseconds are rejected); ``frequency`` is once|minute|hour|day|week; ``once`` takes no interval;
    ``minute`` needs interval >= 15; hour/day/week >= 1. Raises pydantic ``ValidationError`` (a
    ``ValueError``) when a rule is broken. ``model_dump(by_alias=True)`` is ``{frequency, interval,
    startTime}``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    frequency: Frequency
    interval: int | None = None
    start_time: int = Field(gt=0, alias="startTime", description="epoch seconds")

    @field_validator("start_time")
    @classmethod
    def _seconds_not_ms(cls, value: int) -> int:
        if value >= _MAX_EPOCH_SECONDS:
            raise ValueError("start_time must be epoch seconds; this looks like milliseconds")
        return value

    @model_validator(mode="after")
    def _interval_rules(self) -> Schedule:
        if self.frequency == "once":
            if self.interval is not None:
                raise ValueError("frequency 'once' takes no interval")
        elif self.interval is None:
            raise ValueError(f"frequency {self.frequency!r} needs an interval")
        elif self.frequency == "minute" and self.interval < 15:
            raise ValueError("frequency 'minute' needs interval >= 15")
        elif self.interval < 1:
            raise ValueError(f"frequency {self.frequency!r} needs interval >= 1")
        return self
