"""Read intermediate tensors of an unmodified model by module path.

A tap is written ``'<module path>[:<where>]'``:

- ``'neck'`` or ``'neck:output'``: what the module returns (a tensor, or a
  tuple of tensors such as FPN levels);
- ``'backbone.layer4:input'``: the first positional input of the module;
  ``':input1'``, ``':input2'``... the following ones (e.g. the RoIs of an RoI extractor);
- ``'backbone.layer4:pre_relu'``: for a ResNet stage (or block), the residual
  sum before the final ReLU of its last block.

A module called several times records its last call. Taps record only between
:meth:`Taps.reset` and :meth:`Taps.take`, so evaluation forwards keep nothing alive.
"""
import difflib
from typing import Dict, Iterable, List, Optional

from torch import nn

WHERE = ('output', 'input', 'pre_relu', 'input<N>')


class TeacherDone(Exception):
    """Raised inside the teacher once every tap it needs is recorded."""


def parse_tap(tap: str):
    """Split ``'path:where'`` into ``(path, where)``."""
    path, _, where = tap.partition(':')
    return path, (where or 'output')


def input_index(where: str) -> Optional[int]:
    """0 for ``'input'``, N for ``'inputN'``, None for other positions."""
    if where == 'input':
        return 0
    if where.startswith('input') and where[5:].isdigit():
        return int(where[5:])
    return None


def get_module(model: nn.Module, path: str, owner: str) -> nn.Module:
    """Return ``model``'s submodule at ``path`` or raise naming the closest paths."""
    modules = dict(model.named_modules())
    if path in modules:
        return modules[path]
    close = difflib.get_close_matches(path, list(modules), n=5, cutoff=0.5)
    if not close:  # fall back to siblings of the deepest existing parent
        parent = path.rsplit('.', 1)[0] if '.' in path else ''
        while parent and parent not in modules:
            parent = parent.rsplit('.', 1)[0] if '.' in parent else ''
        prefix = f'{parent}.' if parent else ''
        close = [n for n in modules if n.startswith(prefix) and n.count('.') == prefix.count('.')]
        close = close[:8]
    raise KeyError(f'{owner} has no module {path!r}. Closest existing names: {close}')


def _last_relu(module: nn.Module, path: str, owner: str) -> nn.Module:
    """The ReLU applied after the residual sum of a block or of a stage's last block."""
    block = module
    if isinstance(block, nn.Sequential) and len(block) > 0:
        block = block[-1]
    relu = getattr(block, 'relu', None)
    if not isinstance(relu, nn.Module):
        raise TypeError(
            f'{owner} tap {path!r}:pre_relu needs a residual block (or a stage of them) with a '
            f'`relu` module; got {type(block).__name__}')
    return relu


class Taps:
    """Record the tensors named by ``taps`` while ``model`` runs.

    Args:
        model: the model to observe; it is not modified beyond forward hooks.
        taps: tap strings (see the module docstring).
        owner: 'student' or 'teacher', used in error messages.
        stop_when_done: raise :class:`TeacherDone` as soon as every tap's
            module has finished, so that the rest of the forward is skipped.
    """

    def __init__(self, model: nn.Module, taps: Iterable[str], owner: str,
                 stop_when_done: bool = False) -> None:
        self.owner = owner
        self.taps: List[str] = list(dict.fromkeys(taps))
        self.records: Dict[str, object] = {}
        self.stop_when_done = stop_when_done
        self._pending: set = set()
        self._armed = False
        self._recording = False
        for tap in self.taps:
            path, where = parse_tap(tap)
            index = input_index(where)
            if where not in ('output', 'pre_relu') and index is None:
                raise ValueError(
                    f'{owner} tap {tap!r}: unknown position {where!r}; use one of {WHERE}')
            module = get_module(model, path, owner)
            if where == 'output':
                module.register_forward_hook(self._on_output(tap))
            elif where == 'pre_relu':
                relu = _last_relu(module, path, owner)
                relu.register_forward_pre_hook(self._on_input(tap, 0, True))
                module.register_forward_hook(self._on_done(tap))
            else:
                module.register_forward_pre_hook(self._on_input(tap, index))
                module.register_forward_hook(self._on_done(tap))

    def reset(self) -> None:
        """Clear the records, start recording, and arm the stop for the next forward."""
        self.records = {}
        self._pending = set(self.taps)
        self._armed = True
        self._recording = True

    def take(self) -> Dict[str, object]:
        """The records of the forward since :meth:`reset` (every tap); recording stops."""
        records, self.records = self.records, {}
        self._recording = self._armed = False
        missing = [tap for tap in self.taps if tap not in records]
        if missing:
            raise RuntimeError(
                f'{self.owner} taps {missing} were never recorded during the forward pass; the '
                f'model did not run those modules (recorded: {sorted(records)})')
        return records

    def _finish(self, tap: str) -> None:
        self._pending.discard(tap)
        if self.stop_when_done and self._armed and not self._pending:
            self._armed = False  # stop this forward only; later calls run in full
            raise TeacherDone

    def _on_output(self, tap):
        def hook(module, args, output):
            if self._recording:
                self.records[tap] = output
                self._finish(tap)
        return hook

    def _on_input(self, tap, index: int, copy: bool = False):
        def hook(module, args):
            if not self._recording:
                return
            if index >= len(args):
                raise RuntimeError(f'{self.owner} tap {tap!r}: the module was called with '
                                   f'{len(args)} positional inputs')
            # In-place activations overwrite their input: keep a copy.
            self.records[tap] = args[index].clone() if copy else args[index]
        return hook

    def _on_done(self, tap):
        def hook(module, args, output):
            if self._recording:
                self._finish(tap)
        return hook
