"""Every mmkd registry is defined in mmkd/registry.py, names its modules, and resolves."""
import sys

from mmengine.registry import MODEL_WRAPPERS, RUNNERS, Registry

import mmkd  # noqa: F401
from mmkd import registry


def test_all_registries_live_in_mmkd_registry_with_locations():
    own = {id(r) for r in vars(registry).values() if isinstance(r, Registry)}
    for name, module in list(sys.modules.items()):
        if not name.startswith('mmkd'):
            continue
        for attr, value in vars(module).items():
            if isinstance(value, Registry) and value.scope == 'mmkd':
                assert id(value) in own, f'{name}.{attr} is a registry outside mmkd.registry'
    for value in vars(registry).values():
        if isinstance(value, Registry) and value.scope == 'mmkd':
            assert value._locations, f'mmkd registry {value.name!r} has no locations'


def test_runner_and_wrapper_resolve_from_mmengine_roots():
    assert RUNNERS.get('mmkd.Runner').__module__ == 'mmkd.engine.runner'
    assert MODEL_WRAPPERS.get('mmkd.DistributedDataParallel').__module__ == 'mmkd.engine.dist'
