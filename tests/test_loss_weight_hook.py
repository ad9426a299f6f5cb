"""Loss-weight schedules, including LONDON's setting a: 0.8 for 60% of training, then 0.2."""
import math

import pytest

from mmkd.engine.hooks.loss_weight_hook import scheduled_value


def test_step_schedule_with_fraction_milestone():
    s = dict(type='step', milestones=[0.6], values=[0.8, 0.2])
    assert [scheduled_value(s, e, 10) for e in (0, 5, 6, 9)] == [0.8, 0.8, 0.2, 0.2]


def test_linear_and_cosine():
    lin = dict(type='linear', start=0.0, end=2.0, begin=10, stop=20)
    assert scheduled_value(lin, 0, 100) == 0.0
    assert scheduled_value(lin, 15, 100) == pytest.approx(1.0)
    assert scheduled_value(lin, 50, 100) == 2.0
    cos = dict(type='cosine', start=1.0, end=0.0)
    assert scheduled_value(cos, 25, 100) == pytest.approx((1 + math.cos(math.pi / 4)) / 2)


def test_bad_schedules_are_errors():
    with pytest.raises(ValueError, match='len\\(values\\)'):
        scheduled_value(dict(type='step', milestones=[1, 2], values=[1.0]), 0, 10)
    with pytest.raises(ValueError, match="unknown schedule type 'exp'"):
        scheduled_value(dict(type='exp'), 0, 10)
