"""The TensorRT names our code relies on, read with `ast`, tests only (checked against the real bindings by
tests/harness/backends/tensorrt/test_trt_api.py).

What counts as a TensorRT object in a module (one name-based rule for the whole module, so a parameter is one when a
name of the same spelling holds one anywhere in it):
- the roots: `import tensorrt [as X]`, a parameter or variable named `trt`, and `self._trt`;
- whatever is computed from one: its attribute, its item, a call on it, a call that takes one as an argument (other
  than builtins and NumPy: those give Python values), a comprehension of them.
A use is every attribute read or written on a TensorRT object, a constant name in getattr/hasattr/setattr on one, a
keyword argument of a call on one, and each public method of a class derived from one (TensorRT calls those by name).

Version gates: an `if` comparing a name ending in `major` to a number (`if major >= 10:`) runs its body for the
majors that pass and its `else` for the rest; when the body ends in return or raise, the statements after it run only
for the rest. A use is tagged with the majors that can reach it.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

_PYTHON_VALUES = {"bool", "bytes", "dict", "float", "int", "len", "list", "range", "set", "str", "tuple", "np"}
_COMPARE: dict[type, Callable[[int, int], bool]] = {
    ast.GtE: operator.ge,
    ast.Gt: operator.gt,
    ast.LtE: operator.le,
    ast.Lt: operator.lt,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


@dataclass(frozen=True)
class Use:
    name: str  # the TensorRT name
    kind: str  # "attribute", "keyword" (of `method`) or "override"
    where: str  # path:line
    majors: frozenset[int]  # the TensorRT majors that reach it
    method: str = ""


_Key = tuple[int, str]  # (id of the function or module that binds the name, the name); id 0: `self.<attribute>`


class _Scopes:
    """Which function binds each name, as Python resolves it: the innermost one that assigns it or takes it as a
    parameter, else the module (comprehension variables count as their function's)."""

    def __init__(self, tree: ast.Module) -> None:
        self.owner: dict[int, int] = {}  # id(Name node) -> id(its scope)
        self.params: set[_Key] = set()
        self._enter(tree, [])

    def _enter(self, scope: ast.AST, outer: list[tuple[int, set[str]]]) -> None:
        bound: set[str] = set()
        if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            args = scope.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
                if arg is not None:
                    bound.add(arg.arg)
                    self.params.add((id(scope), arg.arg))
        own = list(_own_nodes(scope))
        bound.update(n.id for n in own if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store | ast.Del))
        stack = [*outer, (id(scope), bound)]
        for node in own:
            if isinstance(node, ast.Name):
                self.owner[id(node)] = next((sid for sid, names in reversed(stack) if node.id in names), stack[0][0])
            elif node is not scope and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                self._enter(node, stack)

    def key(self, node: ast.expr) -> _Key | None:
        if isinstance(node, ast.Name):
            return (self.owner.get(id(node), 0), node.id)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            return (0, f"self.{node.attr}")
        return None


def _own_nodes(scope: ast.AST) -> Iterable[ast.AST]:
    """The nodes of `scope` outside its nested functions (which it yields, but not their insides)."""
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            todo.extend(ast.iter_child_nodes(node))


def _call_root(func: ast.expr) -> str | None:
    while isinstance(func, ast.Attribute):
        func = func.value
    return func.id if isinstance(func, ast.Name) else None


class _Taint:
    def __init__(self, tree: ast.Module) -> None:
        self.scopes = _Scopes(tree)
        self.roots = _roots(tree)
        self.keys: set[_Key] = set()

    def _held(self, node: ast.expr) -> bool:
        key = self.scopes.key(node)
        if key is None:
            return False
        if key[1] in self.roots or key in self.keys:
            return True
        # A parameter holds one when a name of the same spelling holds one anywhere in the module.
        return key in self.scopes.params and any(name == key[1] for _scope, name in self.keys)

    def holds(self, node: ast.expr | None) -> bool:
        """Whether `node` evaluates to a TensorRT object (or a value TensorRT gave)."""
        if node is None:
            return False
        if self._held(node):
            return True
        if isinstance(node, ast.Attribute | ast.Subscript | ast.Starred):
            return self.holds(node.value)
        if isinstance(node, ast.Call):
            if self.holds(node.func):
                return True
            args = [*node.args, *(k.value for k in node.keywords)]
            return _call_root(node.func) not in _PYTHON_VALUES and any(self.holds(a) for a in args)
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp):
            return self.holds(node.elt)
        if isinstance(node, ast.DictComp):
            return self.holds(node.value)
        if isinstance(node, ast.Tuple | ast.List):
            return any(self.holds(e) for e in node.elts)
        if isinstance(node, ast.IfExp):
            return self.holds(node.body) or self.holds(node.orelse)
        return False

    def spread(self, tree: ast.Module) -> None:
        """Mark every name assigned a TensorRT object, until nothing changes."""
        while True:
            before = len(self.keys)
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        self._bind(target, node.value)
                elif isinstance(node, ast.AnnAssign | ast.NamedExpr):
                    self._bind(node.target, node.value)
            if len(self.keys) == before:
                return

    def _bind(self, target: ast.expr, value: ast.expr | None) -> None:
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
            for t, v in zip(target.elts, value.elts, strict=True):
                self._bind(t, v)
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._bind(element, value)
        elif isinstance(target, ast.Starred):
            self._bind(target.value, value)
        elif self.holds(value) and (key := self.scopes.key(target)) is not None:
            self.keys.add(key)


def _roots(tree: ast.Module) -> set[str]:
    roots = {"trt", "self._trt"}  # bare names: `trt` in any function
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(a.asname or a.name for a in node.names if a.name == "tensorrt")
    return roots


def gate(test: ast.expr, majors: frozenset[int]) -> tuple[frozenset[int], frozenset[int]] | None:
    """(majors for which the test holds, the rest) when `test` compares a `...major` name to a number, else None."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _COMPARE):
        return None
    left, right = test.left, test.comparators[0]
    name = left.attr if isinstance(left, ast.Attribute) else left.id if isinstance(left, ast.Name) else ""
    if not name.endswith("major") or not (isinstance(right, ast.Constant) and isinstance(right.value, int)):
        return None
    compare = _COMPARE[type(test.ops[0])]
    passing = frozenset(m for m in majors if compare(m, right.value))
    return passing, majors - passing


def walk_gated(body: Iterable[ast.stmt], majors: frozenset[int]) -> Iterable[tuple[ast.AST, frozenset[int]]]:
    """Every node under `body` with the TensorRT majors that reach it (see the module's docstring)."""
    for stmt in body:
        split = gate(stmt.test, majors) if isinstance(stmt, ast.If) else None
        if isinstance(stmt, ast.If) and split is not None:
            passing, rest = split
            yield from walk_gated(stmt.body, passing)
            yield from walk_gated(stmt.orelse, rest)
            if stmt.body and isinstance(stmt.body[-1], ast.Return | ast.Raise):
                majors = rest
            continue
        yield stmt, majors
        for _field, value in ast.iter_fields(stmt):
            children = value if isinstance(value, list) else [value]
            if children and all(isinstance(child, ast.stmt) for child in children):
                yield from walk_gated(children, majors)  # a block: gates inside it split what follows them
                continue
            for child in children:
                if isinstance(child, ast.AST):
                    for node in ast.walk(child):
                        yield node, majors


def tensorrt_uses(path: Path, majors: frozenset[int]) -> list[Use]:
    """The TensorRT names the module at `path` uses, each with where and under which majors."""
    tree = ast.parse(path.read_text(), str(path))
    taint = _Taint(tree)
    taint.spread(tree)
    uses: list[Use] = []
    for node, reach in walk_gated(tree.body, majors):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Attribute) and taint.holds(node.value):
            uses.append(Use(node.attr, "attribute", where, reach))
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in ("getattr", "hasattr", "setattr") and len(node.args) >= 2:
                obj, name = node.args[0], node.args[1]
                if taint.holds(obj) and isinstance(name, ast.Constant) and isinstance(name.value, str):
                    uses.append(Use(name.value, "attribute", where, reach))
            if taint.holds(func):
                method = func.attr if isinstance(func, ast.Attribute) else ast.unparse(func)
                for keyword in node.keywords:
                    if keyword.arg is not None:
                        uses.append(Use(keyword.arg, "keyword", where, reach, method))
        elif isinstance(node, ast.ClassDef) and any(taint.holds(base) for base in node.bases):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and not item.name.startswith("_"):
                    uses.append(Use(item.name, "override", f"{path.name}:{item.lineno}", reach))
    return uses


# Stand-in classes that exist for some majors only, as the stand-in picks them (`create_builder_config`).
STAND_IN_CLASS_MAJORS = {"_FakeConfig86": frozenset({8})}


def stand_in_names(path: Path, majors: frozenset[int]) -> list[Use]:
    """The names the `tensorrt` stand-in (FakeTensorRTModule and its `_Fake*` classes) offers, under which majors:
    public methods, properties, class attributes, `__slots__`, attributes set on `self` (gated as trt_api is), the
    members given to `_Enum`, and REMOVED_IN_10's names (8 only)."""
    tree = ast.parse(path.read_text(), str(path))
    names: list[Use] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(_name_of(t) == "REMOVED_IN_10" for t in node.targets):
            values = node.value.values if isinstance(node.value, ast.Dict) else []
            for constant in (c for value in values if value is not None for c in ast.walk(value)):
                if isinstance(constant, ast.Constant) and isinstance(constant.value, str):
                    where = f"{path.name}:{constant.lineno}"
                    names.append(Use(constant.value, "stand-in", where, majors & frozenset({8})))
        if not (
            isinstance(node, ast.ClassDef) and (node.name == "FakeTensorRTModule" or node.name.startswith("_Fake"))
        ):
            continue
        offered = majors & STAND_IN_CLASS_MAJORS.get(node.name, majors)
        for item, reach in walk_gated(node.body, offered):
            found: list[str] = []
            if isinstance(item, ast.FunctionDef) and item in node.body:
                found.append(item.name)
            elif isinstance(item, ast.Assign | ast.AnnAssign) and item in node.body:
                targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                found += [_name_of(t) for t in targets]
                if any(_name_of(t) == "__slots__" for t in targets) and isinstance(item.value, ast.Tuple):
                    found += [
                        e.value for e in item.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
                    ]
            elif isinstance(item, ast.Attribute) and isinstance(item.ctx, ast.Store) and _name_of(item.value) == "self":
                found.append(item.attr)
            elif isinstance(item, ast.Call) and _name_of(item.func) == "_Enum":
                found += [a.value for a in item.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            where = f"{path.name}:{getattr(item, 'lineno', node.lineno)}"
            names += [Use(name, "stand-in", where, reach) for name in found if not name.startswith("_")]
    return names


def _name_of(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else ""
