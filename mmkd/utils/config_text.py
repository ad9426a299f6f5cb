"""Format a config's text once per run, not once per use.

MMEngine formats ``Config.pretty_text`` with yapf each time it is read: for the log, the
dumped config, the visualizer's copy, the runtime info and each checkpoint's meta. That is
about 0.7 s per read for a distillation config (two models), five reads or more per run.
yapf's result depends only on its input, so :func:`keep_formatted_config_text` makes
MMEngine keep the last few results: an unchanged config is formatted once.
"""
from collections import OrderedDict
from typing import Tuple

import mmengine.config.config as mmengine_config

_KEPT = 8


def _kept(format_code):
    results: 'OrderedDict[str, Tuple[str, bool]]' = OrderedDict()

    def format_once(text, style_config=None, **kwargs):
        key = repr((text, style_config, sorted(kwargs.items())))
        if key not in results:
            results[key] = format_code(text, style_config=style_config, **kwargs)
            if len(results) > _KEPT:
                results.popitem(last=False)
        results.move_to_end(key)
        return results[key]

    format_once.formatted_once = True
    return format_once


def keep_formatted_config_text() -> None:
    """Make MMEngine's ``Config.pretty_text`` reuse yapf's result for an unchanged text."""
    if not getattr(mmengine_config.FormatCode, 'formatted_once', False):
        mmengine_config.FormatCode = _kept(mmengine_config.FormatCode)
