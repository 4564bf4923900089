"""The module's progress and target, carried as attributes as TPU-MLIR does.

`axc.state` records how far lowering has gone; `axc.chip` names the target chip file.
A pass that needs a state calls `require_state` and fails with a located diagnostic
instead of producing nonsense from IR it does not understand.
"""

from __future__ import annotations

from xdsl.dialects.builtin import ModuleOp, StringAttr

from axc.diagnostics import OpError

STATE_ATTR = "axc.state"
CHIP_ATTR = "axc.chip"

#: Lowering stages in order; a module only moves forward through them.
STATES = ("axh", "axh-quantized", "axnpu", "axnpu-scheduled")


def get_state(module: ModuleOp) -> str:
    """The module's state; a module without the attribute is fresh axh."""
    attr = module.attributes.get(STATE_ATTR)
    return attr.data if isinstance(attr, StringAttr) else "axh"


def set_state(module: ModuleOp, state: str) -> None:
    if state not in STATES:
        raise ValueError(f"unknown axc.state {state!r}; expected one of {', '.join(STATES)}")
    module.attributes[STATE_ATTR] = StringAttr(state)


def get_chip(module: ModuleOp, default: str = "AX650") -> str:
    attr = module.attributes.get(CHIP_ATTR)
    return attr.data if isinstance(attr, StringAttr) else default


def set_chip(module: ModuleOp, chip: str) -> None:
    module.attributes[CHIP_ATTR] = StringAttr(chip)


def require_state(module: ModuleOp, pass_name: str, *allowed: str) -> str:
    """Fail unless the module is in one of `allowed` states; return the state."""
    state = get_state(module)
    if state not in allowed:
        raise OpError(
            module,
            f"pass '{pass_name}' needs axc.state {' or '.join(repr(s) for s in allowed)}, "
            f"but the module is in state {state!r}",
        )
    return state
