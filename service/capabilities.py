"""The six access capabilities (see docs/classification.md), in their canonical order."""

from enum import Enum


class Capability(str, Enum):
    ADMINISTER_RESOURCE = "administer-resource"
    READ_CONFIG = "read-config"
    USE_RESOURCE = "use-resource"
    READ_DATA = "read-data"
    WRITE_DATA = "write-data"
    DELETE_DATA = "delete-data"

    def __str__(self) -> str:
        return self.value


CAPABILITIES: tuple[Capability, ...] = tuple(Capability)
CAPABILITY_NAMES: tuple[str, ...] = tuple(c.value for c in CAPABILITIES)
_ORDER = {c: i for i, c in enumerate(CAPABILITIES)}


def ordered(caps) -> tuple[Capability, ...]:
    """Capabilities in canonical order, without duplicates."""
    return tuple(sorted(set(caps), key=_ORDER.__getitem__))
