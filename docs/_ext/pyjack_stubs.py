"""Types for the API reference from pyjack's .pyi stubs.

autodoc reads signatures from the live objects. For the Cython extension
(pyjack._core) those carry no annotations at all, and the module-level
functions of the original API are forwarders taking (*args, **kwargs); the
types live only in the stubs (src/pyjack/*.pyi). Neither autodoc nor
sphinx-autodoc-typehints reads .pyi files, so this extension does:

- it parses every stub with ast and keeps, per qualified name ("Client.process",
  "rec", "Stats.cycles"), the parameters' annotations and the return
  annotation, or the type of an attribute;
- on autodoc-process-signature it gives each parameter of the live signature
  its stub annotation (defaults stay the live ones; a forwarder's (*args,
  **kwargs) is replaced by the stub's parameters), and the stub's return type;
- attributes and Cython properties (getset descriptors, which autodoc documents
  as attributes) get a ``:type:`` line from the stub.

Names in the stubs are written as the reference can resolve them: numpy's
aliases np/npt are spelt out, and the stubs' type aliases (Ports, Audio) are
expanded to what they stand for, in whichever stub uses them.
"""

from __future__ import annotations

import ast
import inspect
import pathlib
import re

from sphinx.ext.autodoc import AttributeDocumenter, PropertyDocumenter  # the legacy classes
from sphinx.util import logging

logger = logging.getLogger(__name__)

PACKAGE = "pyjack"


class Stub:
    """What the stubs say about one name."""

    def __init__(self, params=None, returns=None, type_=None):
        self.params = params          # [(kind, name, annotation text or None, default text or None)]
        self.returns = returns        # return annotation text or None
        self.type = type_             # attribute type text or None


def _text(node, aliases):
    if node is None:
        return None
    text = ast.unparse(node)
    for alias, meaning in aliases.items():
        text = re.sub(rf"\b{re.escape(alias)}\b", meaning, text)
    text = re.sub(r"\bnpt\.", "numpy.typing.", text)
    text = re.sub(r"\bnp\.", "numpy.", text)
    return text


def _params(args: ast.arguments, aliases):
    """The parameters of a stub function, in order, with their kinds."""
    out = []
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    for i, (arg, default) in enumerate(zip(positional, defaults)):
        kind = (inspect.Parameter.POSITIONAL_ONLY if i < len(args.posonlyargs)
                else inspect.Parameter.POSITIONAL_OR_KEYWORD)
        out.append((kind, arg.arg, _text(arg.annotation, aliases), _default(default)))
    if args.vararg:
        out.append((inspect.Parameter.VAR_POSITIONAL, args.vararg.arg,
                    _text(args.vararg.annotation, aliases), None))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        out.append((inspect.Parameter.KEYWORD_ONLY, arg.arg, _text(arg.annotation, aliases),
                    _default(default)))
    if args.kwarg:
        out.append((inspect.Parameter.VAR_KEYWORD, args.kwarg.arg,
                    _text(args.kwarg.annotation, aliases), None))
    return out


def _default(node):
    if node is None or (isinstance(node, ast.Constant) and node.value is Ellipsis):
        return None
    return ast.unparse(node)


def _aliases(tree):
    """Module-level type aliases of a stub: Name = <type expression>."""
    aliases = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id[:1].isupper()):
            aliases[node.targets[0].id] = "(" + _text(node.value, aliases) + ")"
    return aliases


def _walk(body, prefix, aliases, table, source):
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = prefix + node.name
            is_property = any(isinstance(d, ast.Name) and d.id == "property"
                              for d in node.decorator_list)
            if is_property:
                _add(table, name, Stub(type_=_text(node.returns, aliases)), source)
            else:
                _add(table, name, Stub(_params(node.args, aliases), _text(node.returns, aliases)),
                     source)
        elif isinstance(node, ast.ClassDef):
            _walk(node.body, prefix + node.name + ".", aliases, table, source)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            _add(table, prefix + node.target.id, Stub(type_=_text(node.annotation, aliases)),
                 source)


def _add(table, name, stub, source):
    if name in table and (table[name].params, table[name].returns, table[name].type) != (
            stub.params, stub.returns, stub.type):
        logger.warning(f"pyjack_stubs: {name} is declared differently in {table[name].source} "
                       f"and {source}")
    stub.source = source
    table[name] = stub


def load(stub_dir: pathlib.Path):
    """{qualified name without the package: Stub} from every .pyi in stub_dir."""
    trees = {path.name: ast.parse(path.read_text(), str(path))
             for path in sorted(stub_dir.glob("*.pyi"))}
    # A stub may import another's aliases (_render.pyi: Audio, Ports from _play.pyi).
    aliases = {}
    for tree in trees.values():
        aliases.update(_aliases(tree))
    table = {}
    for name, tree in trees.items():
        _walk(tree.body, "", aliases, table, name)
    return table


class _Annotation:
    """Shows its text as it is inside an inspect.Signature (no quotes)."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def _local_name(name):
    return name[len(PACKAGE) + 1:] if name.startswith(PACKAGE + ".") else name


def _live_signature(obj, what):
    try:
        if what in ("class", "exception"):
            return inspect.signature(obj.__init__), True
        return inspect.signature(obj), False
    except (TypeError, ValueError):
        return None, False


def process_signature(app, what, name, obj, options, signature, return_annotation):
    table = app.env.pyjack_stubs
    local = _local_name(name)
    if what in ("class", "exception"):
        stub = table.get(local + ".__init__")
    else:
        stub = table.get(local)
    if stub is None or stub.params is None:
        return None
    stub_params = [p for p in stub.params if p[1] not in ("self", "cls")]
    live, _ = _live_signature(obj, what)
    live_params = []
    if live is not None:
        live_params = [p for p in live.parameters.values() if p.name not in ("self", "cls")]
    forwarder = all(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in live_params)
    params = []
    if live is not None and not forwarder:
        annotations = {p[1]: p[2] for p in stub_params}
        for p in live_params:
            if p.name not in annotations:
                logger.warning(f"pyjack_stubs: {name} has a parameter {p.name!r} that its stub "
                               "lacks", type="pyjack_stubs")
            text = annotations.get(p.name)
            params.append(p.replace(annotation=_Annotation(text) if text else p.empty))
        missing = set(annotations) - {p.name for p in live_params}
        if missing:
            logger.warning(f"pyjack_stubs: the stub of {name} has parameters {sorted(missing)} "
                           "that the object lacks", type="pyjack_stubs")
    else:
        for kind, pname, annotation, default in stub_params:
            params.append(inspect.Parameter(
                pname, kind,
                annotation=_Annotation(annotation) if annotation else inspect.Parameter.empty,
                default=_Annotation(default) if default is not None else inspect.Parameter.empty))
    sig = inspect.Signature(params)
    returns = None if what in ("class", "exception") else stub.returns
    return str(sig), returns


# pyjack's docstrings are plain text, written for help(): "name: text"
# lines with hanging indents for parameters, "Raises:" with the exceptions
# indented under it. As reST those are errors (unexpected indentation), so
# they become field lists: :param name: for a parameter of the object,
# :raises Name: under "Raises:", a plain field for any other term.
_TERM = re.compile(r"^([A-Za-z_][\w.]*(?:\(\))?(?:\s*(?:,|/)\s*[A-Za-z_][\w.]*)*):(?:\s+(.*))?$")


def _indent(line):
    return len(line) - len(line.lstrip())


def _entries(lines):
    """Group lines into (head line, [continuation lines]) by hanging indent."""
    entries = []
    for line in lines:
        if entries and line.strip() and _indent(line) > 0:
            entries[-1][1].append(line)
        else:
            entries.append((line, []))
    return entries


def _fields(lines, params, raises=False):
    """Turn one block of plain text (no blank lines) into reST lines."""
    out = []
    in_fields = False
    for head, rest in _entries(lines):
        match = _TERM.match(head)
        if match and match.group(2) is None and rest and match.group(1) == "Raises":
            body = [line[_indent(rest[0]):] for line in rest]
            out += ([""] if not in_fields else []) + _fields(body, params, raises=True)
            in_fields = True
        elif match and match.group(2) is not None:
            term, text = match.group(1), " ".join([match.group(2)] + [r.strip() for r in rest])
            names = [n.strip() for n in re.split(r"[,/]", term)]
            if raises:
                if not in_fields:
                    out.append("")
                out += [f":raises {n}: {text}" for n in names]
                in_fields = True
                continue
            if len(names) == 1 and names[0] in params:
                kind = "param " + names[0]
            else:
                kind = term
            if not in_fields:
                out.append("")
            out.append(f":{kind}: {text}")
            in_fields = True
        elif in_fields and raises:
            out[-1] += " " + " ".join([head.strip()] + [r.strip() for r in rest])
        else:
            if in_fields:
                out.append("")
                in_fields = False
            out.append(" ".join([head.rstrip()] + [r.strip() for r in rest]))
    if in_fields:
        out.append("")
    return out


def _param_names(obj, what, name, table):
    names = set()
    target = obj.__init__ if what in ("class", "exception") else obj
    try:
        names |= set(inspect.signature(target).parameters)
    except (TypeError, ValueError):
        pass
    local = _local_name(name) + (".__init__" if what in ("class", "exception") else "")
    stub = table.get(local)
    if stub is not None and stub.params:
        names |= {p[1] for p in stub.params}
    return names - {"self", "cls", "args", "kwargs"}


def _drop_restated_signature(lines, short_name):
    """A class docstring may restate the call for help(), as "Stream(inputs=None, ...)";
    the reference shows the signature, with types, above it."""
    for i, line in enumerate(lines):
        if line.startswith(short_name + "("):
            end = i
            while end < len(lines) and lines[end].strip():
                end += 1
            del lines[i:end + 1]
            return


def process_docstring(app, what, name, obj, options, lines):
    # namedtuple fields document themselves as "Alias for field number N";
    # the class docstring says what each field means.
    if what in ("attribute", "property") and lines and lines[0].startswith("Alias for field number"):
        lines[:] = []
        return
    if what in ("class", "exception"):
        _drop_restated_signature(lines, name.rsplit(".", 1)[-1])
    params = _param_names(obj, what, name, app.env.pyjack_stubs)
    out, block, literal = [], [], False
    for line in lines + [""]:
        if line.strip():
            block.append(line)
            continue
        if block:
            if literal or block[0].lstrip().startswith(">>>"):
                out += block
            else:
                out += _fields(block, params)
            literal = block[-1].rstrip().endswith("::") or (literal and _indent(block[0]) > 0)
        out.append("")
        block = []
    lines[:] = out


class StubTypeAttributeDocumenter(AttributeDocumenter):
    """An attribute (or Cython property) with its type from the stub."""

    def add_directive_header(self, sig):
        start = len(self.directive.result)
        super().add_directive_header(sig)
        _add_type(self, start)


class StubTypePropertyDocumenter(PropertyDocumenter):
    """A Python property with its type from the stub."""

    def add_directive_header(self, sig):
        start = len(self.directive.result)
        super().add_directive_header(sig)
        _add_type(self, start)


def _add_type(documenter, start):
    """Add the stub's type unless autodoc found one in the live object."""
    if any(":type:" in line for line in documenter.directive.result.data[start:]):
        return
    stub = documenter.env.pyjack_stubs.get(_local_name(documenter.fullname))
    if stub is not None and stub.type:
        documenter.add_line("   :type: " + stub.type, documenter.get_sourcename())


def builder_inited(app):
    stub_dir = pathlib.Path(app.config.pyjack_stub_dir)
    table = load(stub_dir)
    if not table:
        raise RuntimeError(f"no .pyi stubs found in {stub_dir}")
    app.env.pyjack_stubs = table


def register_documenters(app, config):
    if not config.autodoc_use_legacy_class_based:
        raise RuntimeError("pyjack_stubs needs autodoc_use_legacy_class_based = True")
    app.add_autodocumenter(StubTypeAttributeDocumenter, override=True)
    app.add_autodocumenter(StubTypePropertyDocumenter, override=True)


def setup(app):
    app.add_config_value("pyjack_stub_dir", "", "env")
    app.connect("builder-inited", builder_inited)
    app.connect("autodoc-process-signature", process_signature)
    app.connect("autodoc-process-docstring", process_docstring)
    # After autodoc registers its own documenters (on config-inited).
    app.connect("config-inited", register_documenters, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
