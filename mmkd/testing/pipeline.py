"""Change a config's data pipeline by transform ``type``, not by position in the list."""
from typing import Dict, Sequence


def transform_type(transform: dict) -> str:
    """``'Resize'`` for ``type='Resize'`` and ``type='mmdet.Resize'`` alike."""
    return str(transform.get('type', '')).split('.')[-1]


def changes_by_type(pipeline: Sequence[dict], changes: Dict[str, dict],
                    where: str) -> Dict[str, dict]:
    """``{'<index>': change}`` (the form ``Config.merge_from_dict`` takes for a list) that
    applies ``changes[type]`` to the one transform of that type in ``pipeline``.

    ``where`` names the config and the pipeline's key in the errors: a type that is absent,
    or present more than once, is an error rather than a change to the wrong transform.
    """
    types = [transform_type(t) for t in pipeline]
    out = {}
    for kind, change in changes.items():
        found = [i for i, t in enumerate(types) if t == kind]
        if len(found) != 1:
            what = 'no' if not found else f'{len(found)} (positions {found}), expected one'
            raise ValueError(f'{where} has {what} {kind!r} transform to change; '
                             f'its transforms are {types}')
        out[str(found[0])] = change
    return out
