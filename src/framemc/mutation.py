"""Mechanical mutation testing of the model and the reference impl: does the suite notice a changed line?

Design.  Mutants are generated from the AST of ``model/ops.py``,
``model/invariants.py`` and the allocator modules of ``impl/`` (see
:data:`AREAS`), read fresh from disk on every run.  Each mutant changes one
node; its source is the original text with that node's span replaced by
``ast.unparse`` of the new node (padded so that every other line keeps its
number), checked to parse to exactly the mutated tree (otherwise the whole
module is ``ast.unparse``-d).  A mutant is identified by ``path::function:
+line:operator:index``, where ``+line`` is the line relative to the enclosing
function's ``def`` line (so edits elsewhere in the file do not renumber it)
and ``index`` counts the mutants with the same prefix in AST order;
generation is deterministic.

Operators (:data:`OPERATORS`):

* ``cmp-flip``: ``==``/``!=``, ``<``/``<=``, ``>``/``>=``, ``is``/``is not``,
  ``in``/``not in``, ``z3.ULT``/``z3.ULE``, ``z3.UGT``/``z3.UGE``;
* ``drop-update``: drop a keyword of ``update(s, x=...)``, replace
  ``store(arr, i, v)`` by ``arr``, drop an assignment to an attribute or
  subscript, an augmented assignment or a re-assignment of a local, or a call
  statement (a first assignment of a local is not dropped: that is a
  NameError, not a behaviour);
* ``off-by-one``: an integer constant ``c`` becomes ``c + 1`` and ``c - 1``;
* ``ordering`` (impl): ``Ordering.ACQUIRE/RELEASE/ACQ_REL/SEQ_CST`` becomes
  ``Ordering.RELAXED``;
* ``drop-check``: drop one conjunct of ``z3.And(...)`` or of a Python ``and``,
  drop an ``if ...: raise`` guard or an ``assert``, replace a model guard
  (``guard = ...``, ``Step(guard=...)``) by ``z3.BoolVal(True)``, drop the
  ``ranged=`` guards of a ``Step``;
* ``and-or``: ``z3.And``/``z3.Or`` and ``and``/``or``;
* ``drop-not``: ``z3.Not(x)`` and ``not x`` become ``x``.

Not mutated: module-level code (registries, constants), class bodies outside
methods, annotations, decorators, docstrings, ``raise`` statements' contents
(error messages), f-strings, the planted-bug knobs of the impl (a test
``"<bug>" in bugs``, the branch it guards and the functions only such
branches call: that is the variants' code, :mod:`framemc.impl.variants`),
``__repr__``/``__str__``/``describe``,
and the plumbing functions listed in :data:`AREAS`.

Running.  Each mutant runs in a fresh ``python`` subprocess (in a temporary
folder, with bytecode writing off) whose first act is to install an import
hook serving the mutated source for that one module under its real file
name; the working tree is never written.  The detectors that can see the
mutant run cheapest first and the first kill stops the mutant:

* ``model/ops.py`` function F: the differential tests against the
  plain-Python oracle (``tests/model/frame_oracle.py``) of every operation
  whose code reaches F (and of Init), the proof obligations of those
  operations (REFUTED or UNKNOWN kills), the refutations of the variants of
  ``VARIANTS`` whose code reaches F (a variant no longer REFUTED on the
  invariants it ``breaks`` kills), then the relates, conformance,
  proof-bound, guard and replay tests (:data:`MODEL_OPS_TESTS`);
* ``model/invariants.py`` (body of invariant I): the differential test of I
  against the oracle, the obligations of I (every operation and Init), the
  refutations of the variants that break I, the concrete-check tests
  (:data:`MODEL_INVARIANTS_TESTS`), then every other obligation (a weakened
  state invariant is a hypothesis of all of them);
* ``impl/``: the conformance run of every design whose reference impl
  imports the module (:func:`impl_designs`: MetaSlot seeds 0, 1 and 2,
  Theseus seed 2, see :data:`CONFORMANCE_SEEDS`), those designs' bundled
  scenarios under every memory model (default bounds), then ``tests/impl``
  and the reference event-log check (:data:`IMPL_TESTS`; the slow whole
  conformance runs among them last, :func:`impl_test_paths`).

The proofs run under their calibrated z3 resource limits and the explorer
under its default bounds, so verdicts are deterministic; a wall-clock limit
per mutant (default 300 s) is only a safety net: a mutant that reaches it is
``undecided``, never killed (it counts against the kill rate, and the run exits
3 when nothing else failed).  A detector that raises is ``killed (crash)``.

Survivors listed in the equivalent-mutants file (``benchmarks/
mutation_equivalent.toml``: id -> mutation text and one-line reason) are
``equivalent``; any other survivor is a ``gap``.  The kill rate is killed /
(generated - equivalent).
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import copy
import hashlib
import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

#: the repository root (``src/framemc/mutation.py`` -> three levels up)
ROOT = Path(__file__).resolve().parents[2]
#: the default equivalent-mutants file
EQUIVALENT_FILE = ROOT / "benchmarks" / "mutation_equivalent.toml"
#: every operator, in report order
OPERATORS = ("cmp-flip", "drop-update", "off-by-one", "ordering", "drop-check", "and-or", "drop-not")
#: wall-clock safety net per mutant, seconds
DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True)
class Area:
    """A group of mutated files reported in one table row."""

    #: area name (``model-ops``, ``model-invariants``, ``impl``)
    name: str
    #: repo-relative paths of the mutated files
    paths: tuple[str, ...]
    #: functions (qualified names) never mutated: plumbing or diagnostics
    skip: frozenset[str] = frozenset()


#: the mutated areas.  In impl: the allocator modules.  Left out: ``framemc.sync`` is not in impl at all
#: (the checker's own atomics layer, shared with the explorer: a mutant there is a mutant of the checker);
#: ``machine.py``
#: (simulated physical memory), ``errors.py`` (exception types), ``restore.py`` (rebuilds a system from
#: a snapshot for the explorer's initial states), ``variants.py`` (the bug knobs) and ``__init__.py``.
AREAS: dict[str, Area] = {
    "model-ops": Area("model-ops", ("model/ops.py",),
                      frozenset({"ParamKind.sort", "OpSpec.symbolic_args", "_spec", "_variant", "resolve"})),
    "model-invariants": Area("model-invariants", ("model/invariants.py",), frozenset({"_register"})),
    "impl": Area("impl", ("impl/buddy.py", "impl/meta.py", "impl/frame.py", "impl/system.py", "impl/boot.py",
                          "impl/theseus.py", "impl/theseus_chunks.py")),
}
#: ``--area`` choices and the areas they mean
AREA_CHOICES = {"model": ("model-ops", "model-invariants"), "impl": ("impl",),
                "all": ("model-ops", "model-invariants", "impl"),
                "model-ops": ("model-ops",), "model-invariants": ("model-invariants",)}
#: method names that only render (never mutated)
_DIAGNOSTIC = frozenset({"__repr__", "__str__", "describe"})


# ----------------------------------------------------------------- generation

@dataclass(frozen=True)
class Mutant:
    """One mutation of one node of one module."""

    #: ``path::function:+line:operator:index``
    id: str
    #: the area it belongs to
    area: str
    #: repo-relative path of the mutated file
    path: str
    #: dotted module name it is imported as
    module: str
    #: qualified name of the enclosing function (``Class.method``)
    function: str
    #: absolute line of the mutated node (in the file as read)
    line: int
    #: line relative to the function's ``def`` line
    rel_line: int
    #: the operator
    operator: str
    #: ordinal among mutants with the same path, function, relative line and operator
    index: int
    #: the original node, unparsed (shortened)
    original: str
    #: the replacement, unparsed (shortened)
    replacement: str
    #: the whole mutated module source
    source: str = field(repr=False, compare=False)
    #: True when only the node's span was rewritten (line numbers kept); False: whole module unparsed
    spliced: bool = field(default=True, compare=False)

    @property
    def mutation(self) -> str:
        """``original -> replacement`` in one line."""
        return f"{self.original}  ->  {self.replacement}"


def _short(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."


def module_name(path: str) -> str:
    """The dotted import name of a repo-relative file (``model/ops.py`` -> ``framemc.model.ops``)."""
    parts = Path(path).with_suffix("").parts
    if parts[0] == "src":
        parts = parts[1:]
    else:
        parts = ("framemc",) + parts
    return ".".join(parts)


_CMP_FLIP = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE,
             ast.GtE: ast.Gt, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
_Z3_CMP_FLIP = {"ULT": "ULE", "ULE": "ULT", "UGT": "UGE", "UGE": "UGT"}
_STRONG_ORDERINGS = ("ACQUIRE", "RELEASE", "ACQ_REL", "SEQ_CST")
_Path = tuple[tuple[str, int | None], ...]


def _expr(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


def _is_z3(node: ast.AST, *names: str) -> bool:
    """``node`` is a call ``z3.<name>(...)``."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in names
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "z3")


def _called(node: ast.AST, name: str) -> bool:
    """``node`` is a call of the plain name ``name``."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def _is_knob(node: ast.AST) -> bool:
    """``"<bug>" in bugs`` or ``"<bug>" not in self._bugs``: a planted-bug switch."""
    return (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.In, ast.NotIn))
            and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)
            and "bugs" in ast.unparse(node.comparators[0]))


def _knob_polarity(test: ast.expr) -> str | None:
    """"in" when ``test`` needs a bug switched on, "not in" when it is the knob's negation alone, else None."""
    parts = test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) else [test]
    for p in parts:
        if _is_knob(p) and isinstance(p.ops[0], ast.In):
            return "in"
    if _is_knob(test) and isinstance(test.ops[0], ast.NotIn):
        return "not in"
    return None


def _bug_only_functions(tree: ast.Module) -> frozenset[str]:
    """Names of functions called only from inside planted-bug branches (the variants' own code)."""
    inside: set[str] = set()
    outside: set[str] = set()

    def names(node: ast.AST) -> set[str]:
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | \
               {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.If, ast.IfExp)):
            polarity = _knob_polarity(node.test)
            bug_arm = node.body if polarity == "in" else node.orelse if polarity == "not in" else None
            if bug_arm is not None:
                for part in (bug_arm if isinstance(bug_arm, list) else [bug_arm]):
                    inside.update(names(part))
                good = node.orelse if polarity == "in" else node.body
                for part in (good if isinstance(good, list) else [good]):
                    visit(part)
                return
        if isinstance(node, (ast.Name, ast.Attribute)):
            outside.add(node.id if isinstance(node, ast.Name) else node.attr)
        for child in ast.iter_child_nodes(node):
            visit(child)
    visit(tree)
    return frozenset(inside - outside)


def _is_guard_raise(node: ast.If) -> bool:
    return not node.orelse and bool(node.body) and isinstance(node.body[-1], ast.Raise)


@dataclass
class _Candidate:
    path: _Path
    node: ast.AST
    new: ast.AST
    operator: str
    function: str
    def_line: int


class _Walker:
    """Collects candidate mutations of one module, in a deterministic depth-first order."""

    def __init__(self, tree: ast.Module, skip: frozenset[str], impl: bool) -> None:
        self.tree = tree
        self.skip = skip
        self.impl = impl
        self.found: list[_Candidate] = []
        self.function = ""
        self.def_line = 0
        self.assigned: set[str] = set()
        #: functions only the planted bugs call
        self.bug_only = _bug_only_functions(tree) if impl else frozenset()

    def run(self) -> list[_Candidate]:
        for i, stmt in enumerate(self.tree.body):
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._function(stmt, stmt.name, (("body", i),))
            elif isinstance(stmt, ast.ClassDef):
                for j, inner in enumerate(stmt.body):
                    if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        self._function(inner, f"{stmt.name}.{inner.name}", (("body", i), ("body", j)))
        return self.found

    def _function(self, fn: ast.FunctionDef, qualname: str, path: _Path) -> None:
        if qualname in self.skip or fn.name in _DIAGNOSTIC or fn.name in self.bug_only:
            return
        self.function, self.def_line, self.assigned = qualname, fn.lineno, {a.arg for a in fn.args.args}
        self.assigned |= {a.arg for a in fn.args.kwonlyargs}
        body = fn.body
        start = 1 if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str) else 0
        for k in range(start, len(body)):
            self._visit(body[k], path + (("body", k),))
        for k, default in enumerate(fn.args.defaults):
            self._visit(default, path + (("args", None), ("defaults", k)))

    def _add(self, path: _Path, node: ast.AST, new: ast.AST, operator: str) -> None:
        self.found.append(_Candidate(path, node, new, operator, self.function, self.def_line))

    def _children(self, node: ast.AST, path: _Path, skip: Iterable[str] = ()) -> None:
        for name, value in ast.iter_fields(node):
            if name in skip or name in ("annotation", "returns", "decorator_list", "type_comment"):
                continue
            if isinstance(value, list):
                for k, item in enumerate(value):
                    if isinstance(item, ast.AST):
                        self._visit(item, path + ((name, k),))
            elif isinstance(value, ast.AST):
                self._visit(value, path + ((name, None),))

    def _visit(self, node: ast.AST, path: _Path) -> None:
        if isinstance(node, (ast.Raise, ast.JoinedStr, ast.Global, ast.Nonlocal, ast.Import, ast.ImportFrom)):
            return
        if isinstance(node, ast.stmt):
            self._statement(node, path)
        else:
            self._expression(node, path)

    # ---- statements

    def _statement(self, node: ast.stmt, path: _Path) -> None:
        if isinstance(node, ast.If):
            polarity = _knob_polarity(node.test)
            if polarity == "in":       # the body is the planted bug's code
                for k, s in enumerate(node.orelse):
                    self._visit(s, path + (("orelse", k),))
                return
            if polarity == "not in":   # the else branch is the planted bug's code
                for k, s in enumerate(node.body):
                    self._visit(s, path + (("body", k),))
                return
            if _is_guard_raise(node):
                self._add(path, node, ast.Pass(), "drop-check")
            self._children(node, path)
            return
        if isinstance(node, ast.Assert):
            self._add(path, node, ast.Pass(), "drop-check")
            self._visit(node.test, path + (("test", None),))
            return
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {t.id for tt in targets for t in ast.walk(tt) if isinstance(t, ast.Name)}
            droppable = isinstance(node, ast.AugAssign) or any(
                isinstance(t, (ast.Attribute, ast.Subscript)) for t in targets) or (names and names <= self.assigned)
            if droppable and getattr(node, "value", None) is not None:
                self._add(path, node, ast.Pass(), "drop-update")
            if (not self.impl and isinstance(node, ast.Assign) and len(targets) == 1
                    and isinstance(targets[0], ast.Name) and targets[0].id == "guard"
                    and ast.unparse(node.value) != "z3.BoolVal(True)"):
                self._add(path + (("value", None),), node.value, _expr("z3.BoolVal(True)"), "drop-check")
            if getattr(node, "value", None) is not None:
                self._visit(node.value, path + (("value", None),))
            for k, t in enumerate(targets):
                if isinstance(t, (ast.Attribute, ast.Subscript)):
                    # the container being written and the index are reads: mutate them too
                    self._children(t, path + ((("targets", k) if isinstance(node, ast.Assign) else ("target", None)),))
            self.assigned |= names
            return
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            self._add(path, node, ast.Pass(), "drop-update")
        if isinstance(node, (ast.For, ast.AsyncFor, ast.With)):
            targets = [node.target] if isinstance(node, (ast.For, ast.AsyncFor)) else \
                [i.optional_vars for i in node.items if i.optional_vars is not None]
            self.assigned |= {t.id for tt in targets for t in ast.walk(tt) if isinstance(t, ast.Name)}
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            # a nested function belongs to the enclosing one
            self.assigned.add(node.name)
            self.assigned |= {a.arg for a in node.args.args}
            for k, s in enumerate(node.body):
                if not (k == 0 and isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)):
                    self._visit(s, path + (("body", k),))
            return
        self._children(node, path)

    # ---- expressions

    def _expression(self, node: ast.AST, path: _Path) -> None:
        if _is_knob(node):
            return
        if isinstance(node, ast.IfExp):
            polarity = _knob_polarity(node.test)
            if polarity == "in":
                self._visit(node.orelse, path + (("orelse", None),))
                return
            if polarity == "not in":
                self._visit(node.body, path + (("body", None),))
                return
        if isinstance(node, ast.Compare):
            for k, op in enumerate(node.ops):
                if type(op) in _CMP_FLIP:
                    new = copy.deepcopy(node)
                    new.ops[k] = _CMP_FLIP[type(op)]()
                    self._add(path, node, new, "cmp-flip")
        elif isinstance(node, ast.Call):
            self._call(node, path)
        elif isinstance(node, ast.BoolOp):
            swapped = copy.deepcopy(node)
            swapped.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            if not any(_is_knob(v) for v in node.values):
                self._add(path, node, swapped, "and-or")
            if isinstance(node.op, ast.And):
                for k, v in enumerate(node.values):
                    if _is_knob(v):
                        continue
                    rest = [copy.deepcopy(x) for j, x in enumerate(node.values) if j != k]
                    self._add(path, node, rest[0] if len(rest) == 1 else ast.BoolOp(ast.And(), rest), "drop-check")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self._add(path, node, copy.deepcopy(node.operand), "drop-not")
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            for delta in (1, -1):
                value = node.value + delta
                new = ast.Constant(value) if value >= 0 else ast.UnaryOp(ast.USub(), ast.Constant(-value))
                self._add(path, node, new, "off-by-one")
        elif (self.impl and isinstance(node, ast.Attribute) and node.attr in _STRONG_ORDERINGS
              and isinstance(node.value, ast.Name) and node.value.id == "Ordering"):
            self._add(path, node, _expr("Ordering.RELAXED"), "ordering")
        if isinstance(node, ast.Lambda):
            self.assigned |= {a.arg for a in node.args.args}
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            for gen in node.generators:
                self.assigned |= {t.id for t in ast.walk(gen.target) if isinstance(t, ast.Name)}
        self._children(node, path)

    def _call(self, node: ast.Call, path: _Path) -> None:
        plain = not any(isinstance(a, ast.Starred) for a in node.args)
        if _is_z3(node, *_Z3_CMP_FLIP):
            new = copy.deepcopy(node)
            new.func.attr = _Z3_CMP_FLIP[node.func.attr]
            self._add(path, node, new, "cmp-flip")
        single = len(node.args) == 1 and not isinstance(node.args[0], (ast.List, ast.ListComp, ast.GeneratorExp,
                                                                          ast.Starred, ast.Name))
        if _is_z3(node, "And", "Or") and node.args and not single:
            new = copy.deepcopy(node)
            new.func.attr = "Or" if node.func.attr == "And" else "And"
            self._add(path, node, new, "and-or")
        if _is_z3(node, "And") and len(node.args) >= 2 and plain:
            for k in range(len(node.args)):
                new = copy.deepcopy(node)
                del new.args[k]
                self._add(path, node, new, "drop-check")
        if _is_z3(node, "Not") and len(node.args) == 1:
            self._add(path, node, copy.deepcopy(node.args[0]), "drop-not")
        if _called(node, "update"):
            for k, kw in enumerate(node.keywords):
                if kw.arg is not None:
                    new = copy.deepcopy(node)
                    del new.keywords[k]
                    self._add(path, node, new, "drop-update")
        if _called(node, "store") and len(node.args) == 3 and plain:
            self._add(path, node, copy.deepcopy(node.args[0]), "drop-update")
        if _called(node, "Step"):
            for k, kw in enumerate(node.keywords):
                if kw.arg == "ranged":
                    new = copy.deepcopy(node)
                    del new.keywords[k]
                    self._add(path, node, new, "drop-check")
                if kw.arg == "guard" and ast.unparse(kw.value) != "z3.BoolVal(True)":
                    self._add(path + (("keywords", k), ("value", None)), kw.value, _expr("z3.BoolVal(True)"),
                              "drop-check")


def _locate(tree: ast.AST, path: _Path) -> tuple[Any, str, int | None]:
    """The parent of the node at ``path``, the field and the index holding it."""
    node: Any = tree
    for name, index in path[:-1]:
        node = getattr(node, name)
        if index is not None:
            node = node[index]
    name, index = path[-1]
    return node, name, index


class _Swapped:
    """Context manager: the node at ``path`` of ``tree`` replaced by ``new`` in place, restored on exit."""

    def __init__(self, tree: ast.Module, path: _Path, new: ast.AST) -> None:
        self.parent, self.name, self.index = _locate(tree, path)
        self.new = new

    def __enter__(self) -> None:
        if self.index is None:
            self.old = getattr(self.parent, self.name)
            setattr(self.parent, self.name, self.new)
        else:
            self.old = getattr(self.parent, self.name)[self.index]
            getattr(self.parent, self.name)[self.index] = self.new

    def __exit__(self, *exc: object) -> None:
        if self.index is None:
            setattr(self.parent, self.name, self.old)
        else:
            getattr(self.parent, self.name)[self.index] = self.old


def _splice(text: str, node: ast.AST, new: ast.AST) -> str:
    """``text`` with ``node``'s span replaced by the unparsed ``new``, every other line keeping its number."""
    lines = text.splitlines(keepends=True)

    def offset(lineno: int, col: int) -> int:
        before = sum(len(line) for line in lines[:lineno - 1])
        return before + len(lines[lineno - 1].encode("utf-8")[:col].decode("utf-8"))

    start = offset(node.lineno, node.col_offset)
    end = offset(node.end_lineno, node.end_col_offset)
    pad = "\n" * (node.end_lineno - node.lineno)
    if isinstance(new, ast.stmt):
        replacement = ast.unparse(new) + pad
    else:
        replacement = "(" + ast.unparse(new) + pad + ")"
    return text[:start] + replacement + text[end:]


def generate_from_source(text: str, path: str, *, area: str = "", module: str | None = None,
                         skip: frozenset[str] = frozenset()) -> list[Mutant]:
    """Every mutant of one module's source, in a deterministic order, deduplicated."""
    tree = ast.parse(text)
    impl = Path(path).parts[0] == "impl" or area == "impl"
    module = module or module_name(path)
    seen: set[tuple[int, str]] = set()
    originals: dict[int, str] = {}
    counters: dict[tuple[str, int, str], int] = {}
    result = []
    for cand in _Walker(tree, skip, impl).run():
        # only the top-level statement holding the node changes: compare that statement's tree alone
        top = cand.path[0][1]
        if top not in originals:
            originals[top] = ast.dump(tree.body[top])
        with _Swapped(tree, cand.path, cand.new):
            dump = ast.dump(tree.body[top])
        if dump == originals[top] or (top, dump) in seen:
            continue
        seen.add((top, dump))
        source, spliced = _splice(text, cand.node, cand.new), True
        stmt = tree.body[top]
        first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", ())])
        try:
            # the splice keeps every line number, so the statement's own lines parse to the mutated statement
            parsed = ast.parse("".join(source.splitlines(keepends=True)[first - 1:stmt.end_lineno]))
            ok = len(parsed.body) == 1 and ast.dump(parsed.body[0]) == dump and \
                source.count("\n") == text.count("\n")
        except SyntaxError:
            ok = False
        if not ok:
            with _Swapped(tree, cand.path, cand.new):
                source, spliced = ast.unparse(tree) + "\n", False
        rel = cand.node.lineno - cand.def_line
        key = (cand.function, rel, cand.operator)
        index = counters.get(key, 0)
        counters[key] = index + 1
        result.append(Mutant(
            id=f"{path}::{cand.function}:+{rel}:{cand.operator}:{index}", area=area, path=path, module=module,
            function=cand.function, line=cand.node.lineno, rel_line=rel, operator=cand.operator, index=index,
            original=_short(ast.unparse(cand.node)), replacement=_short(ast.unparse(cand.new)), source=source,
            spliced=spliced))
    return result


def generate(areas: Iterable[str] = ("model-ops", "model-invariants", "impl"), root: Path = ROOT) -> list[Mutant]:
    """Every mutant of the chosen areas, read fresh from disk, in area and file order."""
    result = []
    for name in areas:
        area = AREAS[name]
        for path in area.paths:
            text = (root / path).read_text(encoding="utf-8")
            result.extend(generate_from_source(text, path, area=name, skip=area.skip))
    return result


def sample(mutants: list[Mutant], n: int | None, seed: int) -> list[Mutant]:
    """A deterministic subset of ``n`` mutants per area (all when ``n`` is None), in generation order."""
    if n is None:
        return mutants
    chosen: set[str] = set()
    for area in dict.fromkeys(m.area for m in mutants):
        ids = sorted(m.id for m in mutants if m.area == area)
        chosen |= set(random.Random(f"{seed}:{area}").sample(ids, min(n, len(ids))))
    return [m for m in mutants if m.id in chosen]


# ----------------------------------------------------------------- which code reaches which function

def _references(text: str) -> tuple[dict[str, set[str]], dict[str, set[str]], ast.Module]:
    """Per top-level function or method: the names and attribute names it mentions; and methods by class."""
    tree = ast.parse(text)
    refs: dict[str, set[str]] = {}
    methods: dict[str, set[str]] = {}
    for stmt in tree.body:
        defs = []
        if isinstance(stmt, ast.FunctionDef):
            defs.append((stmt.name, stmt))
        elif isinstance(stmt, ast.ClassDef):
            methods[stmt.name] = {f.name for f in stmt.body if isinstance(f, ast.FunctionDef)}
            defs += [(f"{stmt.name}.{f.name}", f) for f in stmt.body if isinstance(f, ast.FunctionDef)]
        for name, fn in defs:
            refs[name] = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)} | \
                         {"." + n.attr for n in ast.walk(fn) if isinstance(n, ast.Attribute)}
    return refs, methods, tree


def _reach(start: set[str], refs: dict[str, set[str]], methods: dict[str, set[str]]) -> set[str]:
    """The functions reachable from the names ``start`` (function names, ``.attr`` and class names)."""
    called_by_attr = {m for names in refs.values() for m in names if m.startswith(".")}
    seen: set[str] = set()
    todo = list(start)
    while todo:
        name = todo.pop()
        targets = []
        if name in refs:
            targets.append(name)
        if name.startswith("."):
            targets += [f"{c}.{name[1:]}" for c, ms in methods.items() if name[1:] in ms]
        elif name in methods:
            # a class's methods that nothing here calls by attribute are called by the proofs
            targets += [f"{name}.{m}" for m in methods[name] if "." + m not in called_by_attr]
        for t in targets:
            if t not in seen:
                seen.add(t)
                todo.extend(refs[t])
    return seen


def _ops_plan(text: str) -> tuple[dict[str, set[str]], dict[str, tuple[set[str], str, tuple[str, ...]]]]:
    """From ``model/ops.py``'s text: per operation (and ``init``) the functions it reaches; per variant the
    functions it reaches, the operation it replaces and the invariants it breaks."""
    refs, methods, tree = _references(text)
    ops: dict[str, set[str]] = {"init": _reach({"initial_state"}, refs, methods)}
    variants: dict[str, tuple[set[str], str, tuple[str, ...]]] = {}
    for call in ast.walk(tree):
        if _called(call, "_spec") and len(call.args) >= 2 and isinstance(call.args[0], ast.Constant):
            ops[call.args[0].value] = _reach({n.id for n in ast.walk(call.args[1]) if isinstance(n, ast.Name)},
                                             refs, methods)
        if _called(call, "_variant") and len(call.args) >= 5 and isinstance(call.args[0], ast.Constant):
            fn = call.args[3]
            start = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)} | \
                    {"." + n.attr for n in ast.walk(fn) if isinstance(n, ast.Attribute)}
            breaks = tuple(e.value for e in getattr(call.args[4], "elts", ()) if isinstance(e, ast.Constant))
            variants[call.args[0].value] = (_reach(start, refs, methods), call.args[1].value, breaks)
    return ops, variants


def _invariants_plan(text: str) -> dict[str, set[str]]:
    """From ``model/invariants.py``'s text: per invariant name the functions its body reaches."""
    refs, methods, tree = _references(text)
    result = {}
    for call in ast.walk(tree):
        if _called(call, "_register") and len(call.args) >= 4 and isinstance(call.args[0], ast.Constant):
            result[call.args[0].value] = _reach({call.args[3].id}, refs, methods)
    return result


def _invariant_kinds(text: str) -> dict[str, str]:
    """From ``model/invariants.py``'s text: per invariant name its kind, ``state`` or ``step``."""
    kinds = {"_S": "state", "_T": "step"}
    return {call.args[0].value: kinds[call.args[1].id] for call in ast.walk(ast.parse(text))
            if _called(call, "_register") and len(call.args) >= 4 and isinstance(call.args[0], ast.Constant)
            and isinstance(call.args[1], ast.Name) and call.args[1].id in kinds}


def detectors_for(mutant: Mutant, root: Path = ROOT) -> list[dict[str, Any]]:
    """The detector runs that apply to ``mutant``, cheapest first (plain data, for the worker)."""
    if mutant.area == "model-ops":
        ops, variants = _ops_plan((root / "model/ops.py").read_text(encoding="utf-8"))
        selection = sorted(op for op, reached in ops.items() if mutant.function in reached)
        chosen = {name: [f"{replaces}/{inv}" for inv in breaks]
                  for name, (reached, replaces, breaks) in sorted(variants.items()) if mutant.function in reached}
        plan: list[dict[str, Any]] = []
        oracle = [f"{ORACLE_OPS_TEST}::" + ("test_initial_states_agree_with_the_oracle" if op == "init" else
                                            f"test_operation_agrees_with_the_oracle[{op}]") for op in selection]
        if oracle:
            plan.append({"kind": "pytest", "paths": oracle, "label": "oracle"})
        if selection:
            plan.append({"kind": "proofs", "selection": selection})
        if chosen:
            plan.append({"kind": "variants", "variants": chosen})
        plan.append({"kind": "pytest", "paths": list(MODEL_OPS_TESTS)})
        return plan
    if mutant.area == "model-invariants":
        invs = _invariants_plan((root / "model/invariants.py").read_text(encoding="utf-8"))
        names = sorted(name for name, reached in invs.items() if mutant.function in reached)
        _, variants = _ops_plan((root / "model/ops.py").read_text(encoding="utf-8"))
        chosen = {name: [f"{replaces}/{inv}" for inv in breaks]
                  for name, (_, replaces, breaks) in sorted(variants.items()) if set(breaks) & set(names)}
        plan = []
        if names:
            kinds = _invariant_kinds((root / "model/invariants.py").read_text(encoding="utf-8"))
            plan.append({"kind": "pytest", "label": "oracle", "paths": [
                f"{ORACLE_INVARIANTS_TEST}::test_{kinds[name]}_invariant_agrees_with_the_oracle[{name}]"
                for name in names]})
            plan.append({"kind": "proofs", "selection": names})
        if chosen:
            plan.append({"kind": "variants", "variants": chosen})
        plan.append({"kind": "pytest", "paths": list(MODEL_INVARIANTS_TESTS)})
        plan.append({"kind": "proofs", "selection": None, "exclude": names, "label": "proofs (others)"})
        return plan
    designs = impl_designs(root).get(mutant.module, ())
    return [{"kind": "conformance", "design": d, "seeds": list(conformance_seeds(d))} for d in designs] + \
        [{"kind": "scenarios", "designs": list(designs)}, {"kind": "pytest", "paths": impl_test_paths(root)}]


#: the tests a ``model/ops.py`` mutant runs after the proofs: the operations composed into the impl's steps
#: (relates, conformance), the proof bounds, what the guards allow in sequence (boot from an initial state), and
#: the operations' values step by step on the concrete machine ``framemc validate`` replays logs with
MODEL_OPS_TESTS = ("tests/model/test_relates.py", "tests/model/test_conformance.py", "tests/proofs/test_bounds.py",
                   "tests/model/test_ops_guards.py", "tests/model/test_replay.py")
#: the differential tests against the plain-Python oracle (``tests/model/frame_oracle.py``): a mutant of an
#: operation or an invariant runs the cases of what it reaches first (seconds, where its proofs take minutes);
#: the cases of what it does not reach are left out (they cannot fail, and a survivor runs every detector
#: within the time limit)
ORACLE_OPS_TEST = "tests/model/test_oracle_ops.py"
ORACLE_INVARIANTS_TEST = "tests/model/test_oracle_invariants.py"
#: the tests a ``model/invariants.py`` mutant runs after its proofs and variants: the invariants evaluated on
#: concrete snapshots
MODEL_INVARIANTS_TESTS = ("tests/model/test_check_snapshot.py", "tests/model/test_check_step.py")
#: the tests an impl mutant runs: the impl's own, and the check that the MetaSlot reference's event log (what
#: ``framemc validate`` reads, docs/validate.md) validates in every execution of the bundled scenarios
IMPL_TESTS = ("tests/impl", "tests/validate/test_reference_logs.py")
#: the impl tests run after all the others: whole Theseus conformance runs (about 130 s of the 160 s the impl tests
#: take on one core), so that a mutant a quick test kills gets its verdict well within the time limit
IMPL_TESTS_LAST = ("tests/impl/test_theseus_conformance.py",)


def impl_test_paths(root: Path = ROOT) -> list[str]:
    """The test files of :data:`IMPL_TESTS` in the order a mutant runs them: by name, :data:`IMPL_TESTS_LAST` last
    (pytest runs the files in the order given; the same tests run whatever the order)."""
    files: list[str] = []
    for path in IMPL_TESTS:
        folder = root / path
        files += sorted(str(f.relative_to(root)) for f in folder.glob("test_*.py")) if folder.is_dir() else [path]
    return [f for f in files if f not in IMPL_TESTS_LAST] + [f for f in files if f in IMPL_TESTS_LAST]


#: conformance seeds per design (default :data:`DEFAULT_CONFORMANCE_SEEDS`): a Theseus run costs about 35 s of
#: CPU per seed and ``tests/impl/test_theseus_conformance.py`` already runs seeds 0 and 1, so its mutants get
#: the seed the tests do not run
CONFORMANCE_SEEDS: dict[str, tuple[int, ...]] = {"theseus": (2,)}
#: conformance seeds of a design not in :data:`CONFORMANCE_SEEDS`
DEFAULT_CONFORMANCE_SEEDS = (0, 1, 2)


def conformance_seeds(design: str) -> tuple[int, ...]:
    """The conformance seeds the mutants of ``design``'s impl run."""
    return CONFORMANCE_SEEDS.get(design, DEFAULT_CONFORMANCE_SEEDS)


def _impl_imports(text: str) -> set[str]:
    """The ``framemc.impl`` modules a module's source imports, at top level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {n for n in names if n.startswith("framemc.impl.")}
    return found


def impl_designs(root: Path = ROOT) -> dict[str, tuple[str, ...]]:
    """Per impl module (dotted name): the built-in designs whose reference impl runs its code, by name.

    A design's impl is the module of what ``design.build`` returns plus every impl module it imports,
    transitively (so ``impl/meta.py``, whose range check the Theseus allocator shares, belongs to both).
    """
    from framemc.design import designs
    graph = {module_name(str(p.relative_to(root))): _impl_imports(p.read_text(encoding="utf-8"))
             for p in sorted((root / "impl").glob("*.py"))}
    result: dict[str, list[str]] = {}
    for name, design in sorted(designs().items()):
        if design.conformance is None:
            continue
        todo, seen = [type(design.build(frozenset())).__module__], set()
        while todo:
            module = todo.pop()
            if module in graph and module not in seen:
                seen.add(module)
                todo.extend(graph[module])
        for module in seen:
            result.setdefault(module, []).append(name)
    return {m: tuple(ds) for m, ds in result.items()}


def _label(det: dict[str, Any]) -> str:
    return det.get("label") or det["kind"]


# ----------------------------------------------------------------- the worker (runs in the subprocess)

#: the subprocess's entry: installs the import hook before anything imports framemc
_BOOT = r"""
import importlib.abc, importlib.util, json, sys
spec = json.load(open(sys.argv[1], encoding="utf-8"))
if spec.get("module"):
    class _Loader(importlib.abc.Loader):
        def create_module(self, s):
            return None
        def exec_module(self, m):
            m.__file__ = spec["file"]
            exec(compile(spec["source"], spec["file"], "exec"), m.__dict__)
    class _Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == spec["module"]:
                return importlib.util.spec_from_loader(name, _Loader(), origin=spec["file"])
            return None
    sys.meta_path.insert(0, _Finder())
from framemc.mutation import _worker
sys.exit(_worker(spec))
"""


def _worker(spec: dict[str, Any]) -> int:
    """Run the detectors in order until one kills; write the record to ``spec["result"]``.

    With ``spec["collect"]`` (the baseline run on the unmutated code) every detector runs to the end and
    records every failing item, so that items already failing without a mutant can be left out.
    """
    import contextlib
    import io
    if spec.get("module"):
        # the module must be the mutated one, not a copy found some other way
        import importlib
        loaded = importlib.import_module(spec["module"])
        assert loaded.__spec__.loader.__class__.__name__ == "_Loader", "mutant not installed"
    collect = bool(spec.get("collect"))
    runs = []
    killed = None
    for det in spec["detectors"]:
        started = time.perf_counter()
        failures: list[str] = []
        try:
            sink = io.StringIO()
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                failures = _DETECTORS[det["kind"]](det, collect)
            verdict, detail = ("killed", failures[0]) if failures else ("pass", "")
        except BaseException as exc:  # noqa: BLE001 - a crash of the mutant is a kill
            verdict, detail = "crash", f"{type(exc).__name__}: {_short(str(exc), 200)}"
        runs.append({"detector": _label(det), "kind": det["kind"], "verdict": verdict, "detail": detail,
                     "failures": failures if collect else failures[:1],
                     "seconds": round(time.perf_counter() - started, 3)})
        if verdict != "pass" and not collect:
            killed = runs[-1]
            break
    Path(spec["result"]).write_text(json.dumps({"runs": runs, "killed": killed}), encoding="utf-8")
    return 0


class _Stop(Exception):
    """Raised from a result callback to stop at the first failure."""


def _run_until_failure(names: list[str], variant: str | None, bad: Callable[[Any], bool],
                       describe: Callable[[Any], str], collect: bool) -> list[str]:
    """Discharge ``names`` in order (under ``variant``); the failing ones (all, or the first)."""
    from framemc.proofs import run_obligations
    failures: list[str] = []

    def seen(r: Any) -> None:
        if bad(r):
            failures.append(describe(r))
            if not collect:
                raise _Stop
    if names:
        try:
            run_obligations(names, variant=variant, on_result=seen)
        except _Stop:
            pass
    return failures


def _det_proofs(det: dict[str, Any], collect: bool) -> list[str]:
    """Obligations not PROVED: their names (collect) or ``name VERDICT (cause)``."""
    from framemc.proofs import Verdict, obligations
    from framemc.proofs.engine import select
    skip = set(det.get("skip", ()))
    if det["selection"] is None:
        excluded = set(det.get("exclude") or ())
        names = [ob.name for ob in obligations() if ob.invariant not in excluded]
    else:
        names = [ob.name for ob in select(det["selection"])]
    return _run_until_failure(
        [n for n in names if n not in skip], None, lambda r: r.verdict is not Verdict.PROVED,
        lambda r: r.name if collect else f"{r.name} {r.verdict.value}" + (f" ({r.cause.value})" if r.cause else ""),
        collect)


def _det_variants(det: dict[str, Any], collect: bool) -> list[str]:
    """Variant obligations no longer REFUTED: ``variant:obligation`` (collect) or with the verdict."""
    from framemc.proofs import Verdict
    chosen = det["variants"]
    if chosen == "all":
        from framemc.model.ops import VARIANTS
        chosen = {v.name: [f"{v.replaces}/{inv.name}" for inv in v.breaks] for v in VARIANTS.values()}
    skip = set(det.get("skip", ()))
    failures: list[str] = []
    for name, names in chosen.items():
        failures += _run_until_failure(
            [ob for ob in names if f"{name}:{ob}" not in skip], name, lambda r: r.verdict is not Verdict.REFUTED,
            lambda r, name=name: f"{name}:{r.name}" if collect else
            f"variant {name}: {r.name} {r.verdict.value}, no longer refuted", collect)
        if failures and not collect:
            break
    return failures


class _FailedTests:
    """A pytest plugin that records the node ids of failing tests."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.failed and report.nodeid not in self.failed:
            self.failed.append(report.nodeid)

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.failed.append(f"collecting {report.nodeid}")


def _det_pytest(det: dict[str, Any], collect: bool) -> list[str]:
    """Failing test node ids."""
    import pytest
    root = ROOT
    plugin = _FailedTests()
    # in this process, never in xdist workers (the default run's -n auto): a worker is a fresh interpreter
    # without the import hook, so it would test the unmutated code
    args = [str(root / p) for p in det["paths"]] + ["-q", "-p", "no:cacheprovider", "--rootdir", str(root),
                                                    "-c", str(root / "pyproject.toml")]
    if importlib.util.find_spec("xdist") is not None:
        args += ["-n", "0"]
    if not collect:
        args.append("-x")
    for nodeid in det.get("skip", ()):
        args += ["--deselect", nodeid]
    code = int(pytest.main(args, plugins=[plugin]))
    if code in (0, 5) and not plugin.failed:
        return []
    if code == 1 or plugin.failed:
        return plugin.failed or ["a test failed"]
    raise RuntimeError(f"pytest exit code {code}")


def _det_conformance(det: dict[str, Any], collect: bool) -> list[str]:
    """Conformance seeds of ``det["design"]`` whose run does not PASS (``design/seed``)."""
    from framemc.design import design_named
    from framemc.verdicts import Outcome
    design = design_named(det["design"])
    failures = []
    for seed in det["seeds"]:
        if f"{design.name}/{seed}" in set(det.get("skip", ())):
            continue
        report = design.conformance(seed=seed)
        if report.verdict is not Outcome.PASS:
            failure = report.first_failure()
            where = "" if failure is None else \
                f" step {failure[0]} {failure[1].op}: {', '.join(r.name for r in failure[1].failures)}"
            failures.append(f"{design.name}/{seed}" if collect
                            else f"{design.name} seed {seed} {report.verdict.value}{where}")
            if not collect:
                break
    return failures


def _det_scenarios(det: dict[str, Any], collect: bool) -> list[str]:
    """Bundled scenarios of ``det["designs"]`` (``model/name``) that do not PASS."""
    from framemc.config import MEMORY_MODELS, CheckConfig
    from framemc.design import design_named
    from framemc.explorer import Bounds, Status, explore
    cfg = CheckConfig()
    skip = set(det.get("skip", ()))
    failures = []
    for model in MEMORY_MODELS:
        registry: dict[str, Any] = {}
        for design in det["designs"]:
            registry.update(design_named(design).scenarios(model))
        for name in sorted(registry):
            if f"{model}/{name}" in skip:
                continue
            result = explore(registry[name].setup(()), model,
                             bounds=Bounds(cfg.max_executions, cfg.preemption_bound, cfg.max_steps, None),
                             minimize=False)
            if result.status is Status.PASS:
                continue
            if collect:
                failures.append(f"{model}/{name}")
                continue
            if result.status is Status.VIOLATION:
                cx = result.violation
                return [f"{model}/{name}: {cx.kind.value}" + (f" {cx.invariant}" if cx.invariant else "")]
            return [f"{model}/{name}: inconclusive ({result.status.value})"]
    return failures


_DETECTORS: dict[str, Callable[[dict[str, Any], bool], list[str]]] = {
    "proofs": _det_proofs, "variants": _det_variants, "pytest": _det_pytest,
    "conformance": _det_conformance, "scenarios": _det_scenarios,
}


# ----------------------------------------------------------------- running mutants

@dataclass
class Result:
    """What happened to one mutant."""

    mutant: Mutant
    #: killed / survived / undecided (no verdict within the time limit)
    status: str
    #: how it was killed: detected / crash, "timeout" for an undecided one, or "" for a survivor
    kill: str = ""
    #: the detector that killed it
    detector: str = ""
    #: what the detector found
    detail: str = ""
    #: wall seconds of the mutant's subprocess
    seconds: float = 0.0
    #: every detector run (detector, verdict, detail, seconds)
    runs: list[dict[str, Any]] = field(default_factory=list)
    #: for a survivor: equivalent / gap
    classification: str = ""
    #: the equivalence reason, or a note
    reason: str = ""


#: worker subprocesses still running (each in its own process group), stopped if the run is interrupted
_LIVE: set[subprocess.Popen] = set()


def _stop_live() -> None:
    for proc in list(_LIVE):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _spawn(spec: dict[str, Any], timeout: float, workdir: Path) -> tuple[dict[str, Any] | None, str, float]:
    """Run one worker subprocess: its record (None on timeout or crash), its output tail, its seconds."""
    spec_file = workdir / "spec.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", HYPOTHESIS_STORAGE_DIRECTORY=str(workdir / "hyp"),
               PYTHONHASHSEED="0")
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _BOOT, str(spec_file)], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    _LIVE.add(proc)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None, "timeout", time.perf_counter() - started
    finally:
        _LIVE.discard(proc)
    seconds = time.perf_counter() - started
    result_file = Path(spec["result"])
    if not result_file.exists():
        return None, out.decode("utf-8", "replace")[-400:], seconds
    return json.loads(result_file.read_text(encoding="utf-8")), "", seconds


def run_mutant(mutant: Mutant | None, detectors: list[dict[str, Any]], *, timeout: float = DEFAULT_TIMEOUT,
               root: Path = ROOT, collect: bool = False) -> Result:
    """Run ``detectors`` on ``mutant`` (None: the unmutated code) in a fresh subprocess."""
    with tempfile.TemporaryDirectory(prefix="framemc-mutant-") as tmp:
        workdir = Path(tmp)
        spec = {"module": mutant.module if mutant else None, "file": str(root / mutant.path) if mutant else "",
                "source": mutant.source if mutant else "", "detectors": detectors, "root": str(root),
                "result": str(workdir / "result.json"), "collect": collect}
        record, tail, seconds = _spawn(spec, timeout, workdir)
    placeholder = mutant or _BASELINE
    if record is None:
        if tail == "timeout":
            # the time limit is a safety net, not a detector: running out of time kills nothing
            return Result(placeholder, "undecided", "timeout", "-", f"no verdict within {timeout:g} s", seconds)
        return Result(placeholder, "killed", "crash", "-", f"worker died: {_short(tail, 200)}", seconds)
    killed = record["killed"]
    if killed is None:
        status = "killed" if collect and any(r["verdict"] != "pass" for r in record["runs"]) else "survived"
        return Result(placeholder, status, seconds=seconds, runs=record["runs"])
    kind = "crash" if killed["verdict"] == "crash" else "detected"
    return Result(placeholder, "killed", kind, killed["detector"], killed["detail"], seconds, record["runs"])


_BASELINE = Mutant("<unmutated>", "", "", "", "", 0, 0, "", 0, "", "", "")


def load_equivalent(path: Path = EQUIVALENT_FILE) -> dict[str, dict[str, str]]:
    """The equivalent-mutants file: id -> {"mutation": ..., "reason": ...} (empty when missing)."""
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    return {k: dict(v) for k, v in data.items()}


def classify(results: list[Result], equivalent: dict[str, dict[str, str]]) -> None:
    """Mark each survivor equivalent (listed, with the same mutation text) or gap, in place."""
    for r in results:
        if r.status != "survived":
            continue
        entry = equivalent.get(r.mutant.id)
        if entry is None:
            r.classification, r.reason = "gap", ""
        elif entry.get("mutation") and entry["mutation"] != r.mutant.mutation:
            r.classification = "gap"
            r.reason = f"stale equivalence entry (file says {entry['mutation']!r})"
        else:
            r.classification, r.reason = "equivalent", entry.get("reason", "")


def run_all(mutants: list[Mutant], *, jobs: int = 2, timeout: float = DEFAULT_TIMEOUT, root: Path = ROOT,
            on_result: Callable[[Result], None] | None = None,
            skips: dict[str, list[str]] | None = None) -> list[Result]:
    """Run every mutant (``jobs`` at a time), leaving out the items in ``skips``; results in the mutants' order."""
    plans = {m.id: _with_skips(detectors_for(m, root), skips or {}) for m in mutants}
    pool = concurrent.futures.ThreadPoolExecutor(max(1, jobs))
    done: dict[str, Result] = {}
    try:
        futures = {pool.submit(run_mutant, m, plans[m.id], timeout=timeout, root=root): m for m in mutants}
        for fut in concurrent.futures.as_completed(futures):
            r = fut.result()
            done[r.mutant.id] = r
            if on_result is not None:
                on_result(r)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        _stop_live()
        raise
    pool.shutdown()
    return [done[m.id] for m in mutants]


def baseline_detectors(areas: Iterable[str]) -> list[dict[str, Any]]:
    """Every detector the areas' mutants may meet, in full, for the unmutated code."""
    areas = set(areas)
    plan: list[dict[str, Any]] = []
    paths = []
    if areas & {"model-ops", "model-invariants"}:
        plan += [{"kind": "proofs", "selection": None}, {"kind": "variants", "variants": "all"}]
        paths += list(MODEL_OPS_TESTS) + list(MODEL_INVARIANTS_TESTS) + [ORACLE_OPS_TEST, ORACLE_INVARIANTS_TEST]
    if "impl" in areas:
        designs = sorted({d for ds in impl_designs().values() for d in ds})
        plan += [{"kind": "conformance", "design": d, "seeds": list(conformance_seeds(d))} for d in designs]
        plan.append({"kind": "scenarios", "designs": designs})
        paths += impl_test_paths()
    return plan + [{"kind": "pytest", "paths": paths}]


def baseline(areas: Iterable[str], timeout: float = 1800) -> dict[str, list[str]]:
    """The items that already fail on the unmutated code, by detector kind (they are left out of every
    mutant's run: a mutant is judged only by what the unmutated code passes)."""
    result = run_mutant(None, baseline_detectors(areas), timeout=timeout, collect=True)
    if not result.runs:
        raise RuntimeError(f"the baseline run failed: {result.detail}")
    skips: dict[str, list[str]] = {}
    for run in result.runs:
        if run["verdict"] == "crash":
            raise RuntimeError(f"the baseline run of {run['detector']} crashed: {run['detail']}")
        skips.setdefault(run["kind"], []).extend(run["failures"])
    return skips


def _with_skips(plan: list[dict[str, Any]], skips: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [dict(det, skip=skips.get(det["kind"], [])) if skips.get(det["kind"]) else det for det in plan]


# ----------------------------------------------------------------- reporting

def summary(results: list[Result], areas: Iterable[str]) -> list[dict[str, Any]]:
    """One row per area: generated, killed (and how), equivalent, gaps, kill rate."""
    rows = []
    for area in areas:
        mine = [r for r in results if r.mutant.area == area]
        killed = [r for r in mine if r.status == "killed"]
        equivalent = sum(r.classification == "equivalent" for r in mine)
        denominator = len(mine) - equivalent
        rows.append({"area": area, "generated": len(mine), "killed": len(killed),
                     "killed_detected": sum(r.kill == "detected" for r in killed),
                     "killed_crash": sum(r.kill == "crash" for r in killed),
                     "undecided": sum(r.status == "undecided" for r in mine),
                     "equivalent": equivalent, "gaps": sum(r.classification == "gap" for r in mine),
                     "kill_rate": round(len(killed) / denominator, 4) if denominator else None,
                     "seconds_per_mutant": round(sum(r.seconds for r in mine) / len(mine), 2) if mine else None})
    return rows


def _columns(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]


def render(results: list[Result], areas: Iterable[str]) -> list[str]:
    """The tables and the survivor list, as text lines."""
    rows = [("area", "generated", "killed", "(detected", "crash)", "undecided", "equivalent", "gaps", "kill rate",
             "s/mutant")]
    for s in summary(results, areas):
        rate = "-" if s["kill_rate"] is None else f"{100 * s['kill_rate']:.1f}%"
        rows.append((s["area"], str(s["generated"]), str(s["killed"]), str(s["killed_detected"]),
                     str(s["killed_crash"]), str(s["undecided"]), str(s["equivalent"]), str(s["gaps"]), rate,
                     "-" if s["seconds_per_mutant"] is None else f"{s['seconds_per_mutant']:.1f}"))
    lines = _columns(rows)
    undecided = [r for r in results if r.status == "undecided"]
    if undecided:
        lines += ["", "undecided (no verdict within the time limit; not counted as killed):"]
        lines += [f"  {r.mutant.id}  (line {r.mutant.line}): {r.detail}"
                  for r in sorted(undecided, key=lambda r: r.mutant.id)]
    survivors = [r for r in results if r.status == "survived"]
    if survivors:
        lines += ["", "survivors:"]
        for r in sorted(survivors, key=lambda r: (r.classification != "gap", r.mutant.id)):
            lines.append(f"  {r.classification.upper():10} {r.mutant.id}  (line {r.mutant.line})")
            lines.append(f"             {r.mutant.mutation}")
            if r.reason:
                lines.append(f"             reason: {r.reason}")
    return lines


def to_json(results: list[Result], areas: Iterable[str], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The machine-readable report."""
    def one(r: Result) -> dict[str, Any]:
        m = r.mutant
        return {"id": m.id, "area": m.area, "path": m.path, "function": m.function, "line": m.line,
                "operator": m.operator, "mutation": m.mutation, "spliced": m.spliced, "status": r.status,
                "kill": r.kill, "detector": r.detector, "detail": r.detail, "seconds": round(r.seconds, 3),
                "classification": r.classification, "reason": r.reason, "runs": r.runs}
    return {"summary": summary(results, list(areas)), "mutants": [one(r) for r in results], **(extra or {})}


def tree_digest(root: Path = ROOT) -> str:
    """A digest of every source file of the mutated packages (to show a run leaves them unchanged)."""
    h = hashlib.sha256()
    for folder in ("model", "impl", "proofs", "src/framemc"):
        for p in sorted((root / folder).rglob("*.py")):
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    """``python benchmarks/mutation.py``: generate, run and report; exit 1 when a gap survives."""
    parser = argparse.ArgumentParser(description="Mechanical mutation testing of the framemc model and impl.")
    parser.add_argument("--area", choices=sorted(AREA_CHOICES), default="all")
    parser.add_argument("--sample", type=int, default=None, metavar="N", help="run N mutants per area")
    parser.add_argument("--seed", type=int, default=0, help="seed of --sample")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="wall-clock safety net per mutant")
    parser.add_argument("--list", action="store_true", help="only list the mutants")
    parser.add_argument("--only", action="append", default=None, metavar="ID", help="run only this mutant id")
    parser.add_argument("--operator", action="append", choices=OPERATORS, help="only this operator (repeatable)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write the JSON report here")
    parser.add_argument("--equivalent", type=Path, default=EQUIVALENT_FILE, help="the equivalent-mutants file")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the check that the unmutated code passes every detector")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    # a plain `kill` of the harness also stops its workers (they run in their own process groups)
    signal.signal(signal.SIGTERM, lambda *_: (_stop_live(), sys.exit(143)))
    areas = AREA_CHOICES[args.area]
    mutants = generate(areas)
    if args.operator:
        mutants = [m for m in mutants if m.operator in args.operator]
    if args.only:
        unknown = sorted(set(args.only) - {m.id for m in mutants})
        if unknown:
            print(f"error: unknown mutant id {', '.join(unknown)}", file=sys.stderr)
            return 2
        mutants = [m for m in mutants if m.id in set(args.only)]
    mutants = sample(mutants, args.sample, args.seed)
    if args.list:
        for m in mutants:
            print(f"{m.id}  (line {m.line}{'' if m.spliced else ', unparsed'})  {m.mutation}")
        print(f"{len(mutants)} mutants", file=sys.stderr)
        return 0
    before = tree_digest()
    started = time.perf_counter()
    skips: dict[str, list[str]] = {}
    if not args.no_baseline:
        try:
            skips = baseline(dict.fromkeys(m.area for m in mutants))
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        left_out = [f"{kind}: {item}" for kind, items in skips.items() for item in items]
        print(f"baseline ({time.perf_counter() - started:.0f} s): "
              + (f"{len(left_out)} items fail on the unmutated code and are left out: {'; '.join(left_out)}"
                 if left_out else "the unmutated code passes every detector"), file=sys.stderr)
    count = [0]

    def progress(r: Result) -> None:
        count[0] += 1
        if not args.quiet:
            how = f"killed ({r.kill}) by {r.detector}: {r.detail}" if r.status == "killed" else \
                f"UNDECIDED: {r.detail}" if r.status == "undecided" else "SURVIVED"
            print(f"[{count[0]}/{len(mutants)}] {r.seconds:6.1f}s {r.mutant.id}: {_short(how, 140)}",
                  file=sys.stderr, flush=True)
    results = run_all(mutants, jobs=args.jobs, timeout=args.timeout, on_result=progress, skips=skips)
    classify(results, load_equivalent(args.equivalent))
    wall = time.perf_counter() - started
    for line in render(results, [a for a in areas if any(m.area == a for m in mutants)]):
        print(line)
    unchanged = tree_digest() == before
    print(f"{len(results)} mutants in {wall:.1f} s wall with {args.jobs} jobs; mutated packages "
          f"{'unchanged' if unchanged else 'changed during the run (not by this harness, which never writes them)'}")
    if args.json is not None:
        args.json.write_text(json.dumps(to_json(results, areas, {"wall_seconds": round(wall, 1), "jobs": args.jobs,
                                                                 "sample": args.sample, "seed": args.seed,
                                                                 "baseline_left_out": skips}),
                                        indent=2) + "\n", encoding="utf-8")
    if any(r.classification == "gap" for r in results):
        return 1
    return 3 if any(r.status == "undecided" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
