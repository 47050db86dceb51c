"""Settings layering: editor configuration overlays defaults; invalid values warn and fall back."""

from simdlens.config import Settings


def test_camel_case_section_overlays_defaults() -> None:
    settings, warnings = Settings.from_mapping(
        {"isa": "avx512", "verifyOn": "save", "model": {"baseUrl": "http://127.0.0.1:8080/v1", "name": "m", "rounds": 2}}
    )
    assert warnings == []
    assert settings.isa == "avx512"
    assert settings.verify_on == "save"
    assert settings.model.enabled and settings.model.rounds == 2
    assert settings.diagnostics == "all"  # untouched default


def test_invalid_values_fall_back_with_one_warning_each() -> None:
    settings, warnings = Settings.from_mapping({"isa": "neon", "trusted": "yes", "bench": {"processes": -3}, "bogus": 1})
    assert settings.isa == "auto" and settings.trusted is True and settings.bench.processes == 5
    assert len(warnings) == 4
    assert any("simdlens.isa" in w and "neon" in w for w in warnings)
    assert any("simdlens.bench.processes" in w for w in warnings)
    assert any("unknown setting simdlens.bogus" in w for w in warnings)
