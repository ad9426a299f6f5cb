"""mmkd's Runner makes MMEngine format an unchanged config's text once per run."""
import mmengine.config.config as mmengine_config
from mmengine.config import Config

from mmkd.utils.config_text import keep_formatted_config_text


def test_unchanged_config_is_formatted_once_and_a_changed_one_again(monkeypatch):
    yapf, inputs = mmengine_config.FormatCode, []

    def counted(text, **kwargs):
        inputs.append(text)
        return yapf(text, **kwargs)

    monkeypatch.setattr(mmengine_config, 'FormatCode', counted)
    cfg = Config(dict(model=dict(type='ResNet', depth=18), work_dir='runs'))
    plain = cfg.pretty_text  # MMEngine's own text, formatted at each read
    assert cfg.pretty_text == plain and len(inputs) == 2

    keep_formatted_config_text()
    keep_formatted_config_text()  # a second Runner in the process adds no second layer
    assert [cfg.pretty_text for _ in range(4)] == [plain] * 4
    assert len(inputs) == 3

    cfg.model.depth = 50
    changed = cfg.pretty_text
    assert 'depth=50' in changed and changed != plain and len(inputs) == 4
    assert Config(dict(model=dict(type='ResNet', depth=18), work_dir='runs')).pretty_text == plain
    assert len(inputs) == 4  # an equal config built anew reuses the text
