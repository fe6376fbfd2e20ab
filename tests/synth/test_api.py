from __future__ import annotations

import inspect


def test_public_api_shape() -> None:
    import mvkl.synth as synth
    import mvkl.synth.orchestrate  # noqa: F401 - importing the module must not shadow the function

    assert callable(synth.generate) and inspect.isfunction(synth.generate)
    params = inspect.signature(synth.generate).parameters
    for name in ("out_dir", "exams", "seed", "lang", "image_size", "hostile"):
        assert name in params
    assert synth.parse_view_id(synth.format_view_id([["a"], ["b"]])) == [["a"], ["b"]]
    assert callable(synth.draw_cases)
