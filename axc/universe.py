"""The `xdsl.universe` entry point: makes `xdsl-opt` know axc's dialects and passes."""

from xdsl.universe import Universe

from axc.dialects import get_all_dialects
from axc.passes import get_all_passes

AXC_UNIVERSE = Universe(all_dialects=get_all_dialects(), all_passes=get_all_passes())
