"""The payload constants (fill byte, zero-page and fill-page digests) have one definition: framemc.snapshot."""

from __future__ import annotations

import ast
import io
import tokenize
import zlib
from pathlib import Path

import pytest

from framemc.snapshot import FILL_DIGEST, PAGE_SIZE, PAYLOAD_FILL, ZERO_DIGEST, fill_digest, page_digest

ROOT = Path(__file__).resolve().parents[2]
#: the packages whose code may use the constants (tests may re-derive them as oracles)
SOURCE_DIRS = ("src/framemc", "impl", "model", "proofs")
#: the one module that defines them
HOME = ROOT / "src/framemc/snapshot.py"
#: names only the home may bind
NAMES = frozenset({"PAYLOAD_FILL", "ZERO_DIGEST", "FILL_DIGEST"})


def second_definitions(path: Path, text: str) -> list[str]:
    """``path:line: what`` for each place in ``text`` that computes or spells a shared payload constant."""
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.NAME and tok.string == "crc32":
            found.append(f"{path}:{tok.start[0]}: computes a digest (use framemc.snapshot.page_digest)")
        elif tok.type == tokenize.NUMBER and tok.string.lower().startswith("0x") and \
                int(tok.string, 16) == PAYLOAD_FILL:
            found.append(f"{path}:{tok.start[0]}: spells the fill byte (use framemc.snapshot.PAYLOAD_FILL)")
        elif tok.type == tokenize.STRING and "\\xa5" in tok.string.lower():
            found.append(f"{path}:{tok.start[0]}: spells the fill byte (use framemc.snapshot.PAYLOAD_FILL)")
    for node in ast.walk(ast.parse(text)):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
        for target in targets:
            if isinstance(target, ast.Name) and target.id in NAMES:
                found.append(f"{path}:{node.lineno}: binds {target.id} (import it from framemc.snapshot)")
    return found


def test_the_constants_have_one_definition():
    found = []
    for folder in SOURCE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path != HOME:
                found += second_definitions(path.relative_to(ROOT), path.read_text(encoding="utf-8"))
    assert found == []


@pytest.mark.parametrize("text, what", [
    ("import zlib\nD = zlib.crc32(bytes(4096))\n", "computes a digest"),
    ("from zlib import crc32\n", "computes a digest"),
    ("def boot(fill=0xA5):\n    return fill\n", "spells the fill byte"),
    ("STALE = b'\\xa5' * 4096\n", "spells the fill byte"),
    ("ZERO_DIGEST = 0\n", "binds ZERO_DIGEST"),
    ("class C:\n    FILL_DIGEST: int = 1\n", "binds FILL_DIGEST"),
])
def test_a_second_definition_is_found(text, what):
    (found,) = second_definitions(Path("planted.py"), text)
    assert found.startswith("planted.py:") and what in found


def test_the_check_ignores_prose_and_other_numbers():
    assert second_definitions(Path("ok.py"), '"""the fill byte 0xA5, zlib.crc32"""\nX = 0xA4  # 0xA5\n') == []


def test_the_values():
    assert PAYLOAD_FILL == 0xA5
    assert ZERO_DIGEST == zlib.crc32(bytes(PAGE_SIZE)) == page_digest(bytes(PAGE_SIZE)) == 0xC71C0011
    assert FILL_DIGEST == zlib.crc32(bytes([0xA5]) * PAGE_SIZE) == fill_digest(PAYLOAD_FILL)
