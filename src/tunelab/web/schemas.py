"""The JSON bodies the server accepts, strictly typed: unknown fields are refused and nothing is
coerced (``"5"`` is not 5, ``true`` is not 1, ``1`` is not ``true``)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

TEST_ID = re.compile(r"^[0-9a-f]{8}$")
LISTENER = re.compile(r"^[0-9a-f]{32}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class NewListener(_Strict):
    test_id: str = Field(pattern=TEST_ID.pattern)
    consent: bool  # strict: true only (Literal[True] would take 1, which equals True in Python)

    @field_validator("consent")
    @classmethod
    def _consented(cls, v: bool) -> bool:
        if v is not True:
            raise ValueError("consent is required")
        return v

    expertise: Literal["none", "amateur", "student", "professional"] | None = None
    screen: str | None = Field(default=None, max_length=40, pattern=r"^[0-9x]+$")


class Answer(_Strict):
    listener_id: str = Field(pattern=LISTENER.pattern)
    position: int = Field(ge=0, le=100_000)
    played_s: float = Field(ge=0, le=86_400)  # what the page measured: kept, never trusted
    ratings: dict[str, int] | None = Field(default=None, max_length=20)
    choice: Literal["A", "B", "none"] | None = None
    comment: str | None = Field(default=None, max_length=1000)


class NewTest(_Strict):
    sets: list[str] = Field(min_length=1, max_length=8)
    reference: str | None = Field(default=None, max_length=100)
    n: int = Field(default=10, ge=1, le=200)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    scales: list[str] | None = Field(default=None, max_length=10)
    points: int = Field(default=10, ge=2, le=100)
    pairs: int = Field(default=0, ge=0, le=100)
    no_preference: bool = False
    name: str | None = Field(default=None, max_length=200)
