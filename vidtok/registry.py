"""One registry pattern for every pluggable component (decoders, samplers, selectors,
encoders, compressors, model adapters).

Built-ins are declared as ``"name": "module:attr"`` strings, exactly the form of a
Python entry point, and third-party plugins add entries to the entry-point group
``vidtok.<kind>``. Both are imported lazily, so listing components never imports torch.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
from typing import Any, Generic, Iterator, TypeVar

from .errors import UsageError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, builtins: dict[str, str] | None = None):
        self.kind = kind
        self._targets: dict[str, str] = dict(builtins or {})
        self._loaded: dict[str, T] = {}
        self._plugins_scanned = False

    def _scan_plugins(self) -> None:
        if self._plugins_scanned:
            return
        self._plugins_scanned = True
        # importlib.metadata is slow to import: paid by the first lookup, not at start-up
        from importlib.metadata import entry_points

        for ep in entry_points(group=f"vidtok.{self.kind}"):
            self._targets.setdefault(ep.name, ep.value)

    def register(self, name: str, obj: Any = None):
        """Register ``obj`` under ``name``; usable as a decorator."""

        def deco(o: T) -> T:
            self._loaded[name] = o
            self._targets.setdefault(name, f"{o.__module__}:{getattr(o, '__qualname__', name)}")
            return o

        return deco(obj) if obj is not None else deco

    def names(self) -> list[str]:
        self._scan_plugins()
        return list(dict.fromkeys([*self._targets, *self._loaded]))

    def __contains__(self, name: str) -> bool:
        return name in self.names()

    def check(self, name: str) -> str:
        """``name`` if it is registered, else a UsageError listing the choices; imports
        nothing, so a command can check its options before loading anything heavy."""
        if name not in self.names():
            raise UsageError(
                f"unknown {self.kind[:-1] if self.kind.endswith('s') else self.kind} "
                f"'{name}'; choose one of: {', '.join(self.names())}"
            )
        return name

    def get(self, name: str) -> T:
        self._scan_plugins()
        if name in self._loaded:
            return self._loaded[name]
        self.check(name)
        module, _, attr = self._targets[name].partition(":")
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        self._loaded[name] = obj
        return obj

    def describe(self, name: str) -> str:
        """The first paragraph of the component's docstring, on one line, read from its source
        file when it is not imported yet (listing components must not import torch)."""
        if name in self._loaded:
            doc = getattr(self._loaded[name], "__doc__", None) or ""
        else:
            node = self._source_node(name)
            doc = (ast.get_docstring(node) if node is not None else None) or ""
        return " ".join(doc.strip().split("\n\n")[0].split())  # a sentence may wrap: keep all of it

    def module_dict(self, name: str, constant: str) -> dict:
        """The dict ``constant`` at the top of the component's module, keys with their values
        where those are literals (else None), read from the source without importing it."""
        tree = self._module_tree(name)
        for node in tree.body if tree is not None else ():
            if (isinstance(node, ast.Assign) and any(getattr(t, "id", None) == constant for t in node.targets)
                    and isinstance(node.value, ast.Dict)):
                return {k.value: _literal(v) for k, v in zip(node.value.keys, node.value.values)
                        if isinstance(k, ast.Constant)}
        return {}

    def options(self, name: str, skip: tuple[str, ...] = ()) -> dict:
        """The keyword options the component takes, with their defaults (constants only):
        what ``-o key=value`` may set. From the signature when it is imported, else read
        from its source, so checking options imports nothing."""
        if name in self._loaded:
            params = inspect.signature(self._loaded[name]).parameters.values()
            found = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
        else:
            node = self._source_node(name)
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                return {}
            args = node.args
            pos = args.args[len(args.args) - len(args.defaults):]
            pairs = [*zip(pos, args.defaults), *((a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d)]
            found = {a.arg: d.value for a, d in pairs if isinstance(d, ast.Constant)}
        return {k: v for k, v in found.items() if k not in skip and (v is None or isinstance(v, (int, float, str)))}

    def option_ranges(self, name: str) -> dict[str, tuple]:
        """``OPTION_RANGES`` of the component's module: option -> (low, high), inclusive,
        None for no bound. Read from the source, so checking imports nothing."""
        return self.module_dict(name, "OPTION_RANGES")

    def _module_tree(self, name: str):
        self.check(name)
        module = self._targets[name].partition(":")[0]
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            return None
        with open(spec.origin, encoding="utf-8") as f:
            return ast.parse(f.read())

    def _source_node(self, name: str):
        tree = self._module_tree(name)
        obj = tree
        for part in self._targets[name].partition(":")[2].split("."):
            obj = next((n for n in getattr(obj, "body", ()) if getattr(n, "name", None) == part), None)
        return obj

    def items(self) -> Iterator[tuple[str, T]]:
        for n in self.names():
            yield n, self.get(n)


def _literal(node):
    """A source literal's value (numbers, strings, tuples of them), else None."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None
