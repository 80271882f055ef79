"""Memory models are one registry: every other place that names them follows ``framemc.explorer.memory.MODELS``."""

from __future__ import annotations

import re
from pathlib import Path

from framemc.config import MEMORY_MODELS
from framemc.setups import bundled_registry
from framemc.explorer import memory
from framemc.explorer.bounds import MemoryModel
from framemc.trace_schema import MEMORY_MODELS as TRACE_MODELS

SRC = Path(__file__).resolve().parents[2] / "src" / "framemc"


def test_every_name_of_a_memory_model_comes_from_the_registry():
    assert [m.value for m in MemoryModel] == list(memory.MODELS) == list(MEMORY_MODELS) == list(TRACE_MODELS)
    for name, checker in memory.MODELS.items():
        assert checker.name == name and isinstance(checker.interleaving, bool)


def test_no_module_spells_the_list_of_models_again():
    spelled = re.compile(r"""[(\[]\s*["']sc["']\s*,\s*["']c11["']\s*[)\]]""")
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if spelled.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_engine_asks_the_checker_not_the_name():
    engine = (SRC / "explorer" / "engine.py").read_text(encoding="utf-8")
    assert not re.search(r"""==\s*["'](sc|c11)["']""", engine)


def test_a_newly_registered_model_has_no_bundled_scenarios_yet(monkeypatch):
    monkeypatch.setitem(memory.MODELS, "tso", memory.MODELS["sc"])
    assert bundled_registry("tso") == {}
