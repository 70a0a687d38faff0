"""Module: the base of every layer and model.

Parameters, buffers and submodules live in insertion-ordered registries that
``__setattr__`` fills, so ``state_dict()`` keys are the dotted names PyTorch gives the same
model (``0.weight``, ``bn.running_mean``) and their order never changes between runs.
Traversal (``named_modules``, ``named_parameters``, ``apply``), ``to(device, dtype)``,
``load_state_dict(strict=...)`` and the printed tree follow ``torch.nn.Module``; the
state dict's machinery is in ``state_dict.py``, moving and casting in ``devices.py``.
"""
from collections import OrderedDict

import numpy as np

from ..autograd import Tensor
from ..checks import InputError, InputTypeError, name_the_layer
from .devices import move_to, parse_to
from .parameter import Parameter
from .state_dict import load_model_state, model_state


class Module:
    """The base of every layer and model, as ``torch.nn.Module``.

    Assigning a :class:`Parameter`, a Module or a buffer (``register_buffer``) as an
    attribute registers it, in order; ``parameters()``, ``named_parameters()``,
    ``buffers()``, ``children()``, ``modules()`` walk them, and ``state_dict()`` names
    them with PyTorch's dotted keys (``0.weight``, ``bn.running_mean``). ``train()`` and
    ``eval()`` switch dropout and batch norm, recursively; ``to(device or dtype)``,
    ``zero_grad()``, ``apply(fn)``, forward hooks. Subclasses define ``forward``; calling
    the module calls it."""
    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "training", True)

    # -- registration -----------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before "
                               f"assigning attributes")
        if isinstance(value, (Parameter, Module)):
            table = self._parameters if isinstance(value, Parameter) else self._modules
            for registry in (self._parameters, self._buffers, self._modules):
                if registry is not table:  # a replaced child keeps its place in the order
                    registry.pop(name, None)
            self._non_persistent.discard(name)
            table[name] = value
        elif name in self._buffers:  # as in PyTorch, a buffer stays a buffer
            if isinstance(value, Tensor):
                value = value._data
            if value is not None and not hasattr(value, "shape"):
                raise TypeError(f"{type(self).__name__}: cannot assign a "
                                f"{type(value).__name__} to buffer '{name}' (an array, a "
                                f"Tensor or None expected)")
            self._buffers[name] = value
        elif name in self._parameters or name in self._modules:
            # Replacing a parameter by a plain value would silently drop it from
            # parameters() and the state dict; PyTorch refuses, and so do we.
            kind = "parameter" if name in self._parameters else "submodule"
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign a "
                                f"{type(value).__name__} to {kind} '{name}' (a "
                                f"{'Parameter' if kind == 'parameter' else 'Module'} or None "
                                f"expected)")
            (self._parameters if kind == "parameter" else self._modules)[name] = None
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name):  # only called when normal lookup fails
        for registry in ("_parameters", "_buffers", "_modules"):
            table = self.__dict__.get(registry)
            if table is not None and name in table:
                return table[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name, array, persistent=True):
        """Register state that is saved but not learned (e.g. BatchNorm's running mean).

        ``array`` is a plain array (or None); a non-persistent buffer is left out of the
        state dict.
        """
        if isinstance(array, Tensor):
            array = array._data
        self.__dict__.pop(name, None)
        self._buffers[name] = array
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def register_parameter(self, name, param):
        if param is None:
            self._parameters[name] = None
        else:
            setattr(self, name, param)

    def add_module(self, name, module):
        """Register ``module`` (or None) as the child ``name``, like ``self.name = module``
        but for any name without a dot (``"0"``, ``"block 1"``)."""
        who = f"{type(self).__name__}.add_module"
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{who}: {type(module).__name__} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"{who}: module name should be a string, got "
                            f"{type(name).__name__}")
        if "." in name:
            raise KeyError(f'{who}: module name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError(f'{who}: module name can\'t be empty string ""')
        if name not in self._modules and hasattr(self, name):
            raise KeyError(f"{who}: attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        """The submodule at the dotted path ``target`` (``""`` is this module)."""
        module = self
        for item in target.split(".") if target else []:
            if not hasattr(module, item):
                raise AttributeError(f"{module._get_name()} has no attribute `{item}`")
            module = getattr(module, item)
            if not isinstance(module, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return module

    def _owner(self, target):
        """The submodule that holds the last name of ``target``, and that name."""
        path, _, name = target.rpartition(".")
        return self.get_submodule(path), name

    def get_parameter(self, target):
        """The parameter at the dotted path ``target`` (``"0.weight"``)."""
        module, name = self._owner(target)
        if not hasattr(module, name):
            raise AttributeError(f"{module._get_name()} has no attribute `{name}`")
        param = getattr(module, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target):
        """The buffer (an array) at the dotted path ``target`` (``"bn.running_mean"``)."""
        module, name = self._owner(target)
        if name not in module._buffers:
            raise AttributeError(f"`{name}` is not a buffer of {module._get_name()}")
        return module._buffers[name]

    # -- traversal (PyTorch's order and de-duplication) ------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """``(dotted name, module)`` for this module and every descendant, parents first.

        A module reachable by two paths is listed once (under the first) unless
        ``remove_duplicate=False``; the state dict lists it under both, as PyTorch does.
        """
        if memo is None:
            memo = set()
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                               remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, child in self._modules.items():
            if child is not None and child not in seen:
                seen.add(child)
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def _named_members(self, registry, prefix, recurse, remove_duplicate):
        seen = set()  # ids: arrays are unhashable and Tensor == is elementwise
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for mod_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """``(dotted name, Parameter)``; a parameter shared by two layers is listed once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """Every parameter (before a lazy layer's first forward, its placeholders: an
        optimizer built on them updates the parameters they become)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule (children first, then this one), as
        ``net.apply(init_weights)`` does in PyTorch; returns ``self``."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -- modes ------------------------------------------------------------------------
    def train(self, mode=True):
        """Switch this module and all submodules to training (or evaluation) mode."""
        if not isinstance(mode, (bool, np.bool_)):
            raise ValueError(f"{type(self).__name__}.train: mode must be True or False, "
                             f"got {mode!r}")
        mode = bool(mode)
        object.__setattr__(self, "training", mode)
        for child in self.children():  # through train(), so that overrides are honoured
            child.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none or p._grad is None:
                p._grad = None
            else:
                p._grad[...] = 0

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` on every parameter (freeze with False); returns ``self``."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    # -- calling ----------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        try:
            out = self.forward(*args, **kwargs)
        except (InputError, InputTypeError) as err:  # an op's check: name this layer
            name_the_layer(err, self)
            raise
        if self._forward_hooks:  # most calls have none: no list to make
            for hook in list(self._forward_hooks.values()):
                replaced = hook(self, args, out)
                if replaced is not None:
                    out = replaced
        return out

    def register_forward_hook(self, hook):
        """Call ``hook(module, inputs, output)`` after each forward; returns a handle."""
        key = object()
        self._forward_hooks[key] = hook
        return _RemovableHandle(self._forward_hooks, key)

    # -- state ------------------------------------------------------------------------
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """Parameters and persistent buffers as Tensors that share the model's memory,
        under PyTorch's dotted keys (see :func:`deepgrad.nn.state_dict.model_state`)."""
        return model_state(self, destination, prefix, keep_vars)

    def load_state_dict(self, state, strict=True, assign=False):
        """Copy a state dict into this model's parameters and buffers; returns
        ``(missing_keys, unexpected_keys)`` (see
        :func:`deepgrad.nn.state_dict.load_model_state`)."""
        return load_model_state(self, state, strict, assign)

    def _check_materialized(self, action):
        for name, module in self.named_modules():
            if getattr(module, "_lazy_uninitialized", False):
                where = f"'{name}' " if name else ""
                raise RuntimeError(
                    f"{action}: the lazy layer {where}({module!r}) has no parameters yet; "
                    f"call the model once on an input batch (net(X)) so that it infers "
                    f"their shapes")

    # -- devices and dtypes -------------------------------------------------------------
    def to(self, *args, **kwargs):
        """Move and/or cast, in place, as PyTorch's ``Module.to``: ``to(device)``,
        ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)`` (its device and dtype) or
        the keywords ``device=`` / ``dtype=``.

        A dtype applies to floating-point parameters, gradients and buffers (a counter
        such as ``num_batches_tracked`` stays int64). The Parameter objects stay the same,
        so optimizers built on them keep working.
        """
        device, dtype = parse_to(type(self).__name__, args, kwargs)
        move_to(self, device, dtype)
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else device)

    def float(self):
        """Cast floating-point parameters and buffers to float32."""
        return self.to(np.float32)

    def double(self):
        """Cast floating-point parameters and buffers to float64."""
        return self.to(np.float64)

    def half(self):
        """Cast floating-point parameters and buffers to float16."""
        return self.to(np.float16)

    def summary(self, input_size):
        """Each layer's output shape, parameters and multiply-adds for a batch of shape
        ``input_size`` (see :func:`deepgrad.nn.summary`)."""
        from .model_summary import summary  # the summary knows the layers, built on this
        return summary(self, input_size)

    def num_parameters(self):
        self._check_materialized("num_parameters()")
        return sum(p._data.size for p in self.parameters())

    # -- printing ---------------------------------------------------------------------
    def _get_name(self):
        return type(self).__name__

    def extra_repr(self):
        """This layer's own settings, shown inside its parentheses (override it)."""
        return ""

    def _repr_html_(self):
        """A notebook's view: the tree of layers, each with its parameter count."""
        return _html_tree(self)

    def __repr__(self):
        # PyTorch's layout: one line for a leaf layer, else one indented line per
        # setting and per child, "(name): child".
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _indent(repr(child), 2)
                       for name, child in self._modules.items()]
        lines = extra_lines + child_lines
        text = self._get_name() + "("
        if len(extra_lines) == 1 and not child_lines:
            text += extra_lines[0]
        elif lines:
            text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"


def _html_tree(module, name=""):
    """The module tree as nested ``<details>``: each layer's settings and the number of
    parameters under it; containers open, leaves closed."""
    import html
    lazy = any(getattr(m, "_lazy_uninitialized", False) for m in module.modules())
    count = ("lazy, not built yet" if lazy else
             f"{sum(p._data.size for p in module.parameters()):,} parameters")
    label = f"{name}: " if name else ""
    head = (f"<summary><code>{html.escape(label + module._get_name())}"
            f"({html.escape(module.extra_repr())})</code> <small>{count}</small></summary>")
    children = "".join(_html_tree(child, child_name)
                       for child_name, child in module._modules.items() if child is not None)
    opened = " open" if children else ""
    return f"<details{opened} style='margin-left:1em'>{head}{children}</details>"


def _indent(text, spaces):
    """Indent every line of ``text`` but the first (PyTorch's ``_addindent``)."""
    first, *rest = text.split("\n")
    return "\n".join([first] + [" " * spaces + line for line in rest])


class _RemovableHandle:
    def __init__(self, table, key):
        self._table, self._key = table, key

    def remove(self):
        self._table.pop(self._key, None)
