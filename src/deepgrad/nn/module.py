"""Module: the base of every layer and model.

Parameters, buffers and submodules live in insertion-ordered registries that
``__setattr__`` fills, so ``state_dict()`` keys are the dotted names PyTorch gives the same
model (``0.weight``, ``bn.running_mean``) and their order never changes between runs.
"""
from collections import OrderedDict

from .. import backend
from ..autograd import Tensor
from .parameter import Parameter


class Module:
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
            for registry in (self._parameters, self._buffers, self._modules):
                registry.pop(name, None)
            table = self._parameters if isinstance(value, Parameter) else self._modules
            table[name] = value
        elif name in self._buffers:  # as in PyTorch, a buffer stays a buffer
            if isinstance(value, Tensor):
                value = value.data
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
            array = array.data
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
        self._modules[name] = module

    # -- traversal ----------------------------------------------------------------------
    def named_modules(self, prefix=""):
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def named_parameters(self, prefix="", recurse=True):
        seen = set()  # a parameter shared by two layers is listed once, like PyTorch
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_prefix, module in modules:
            for name, p in module._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True):
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_prefix, module in modules:
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{mod_prefix}.{name}" if mod_prefix else name), b

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- modes ------------------------------------------------------------------------
    def train(self, mode=True):
        """Switch this module and all submodules to training (or evaluation) mode."""
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def requires_grad_(self, flag=True):
        for p in self.parameters():
            p.requires_grad = flag
        return self

    # -- calling ----------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        out = self.forward(*args, **kwargs)
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
    def state_dict(self):
        """Parameters and persistent buffers as arrays, under PyTorch's dotted keys."""
        state = OrderedDict()
        for prefix, module in self.named_modules():
            dot = f"{prefix}." if prefix else ""
            for name, p in module._parameters.items():
                if p is not None:
                    state[dot + name] = p.data
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    state[dot + name] = b
        return state

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays (NumPy, CuPy or Tensors) into this model's parameters and buffers.

        Values are copied in place, so optimizers keep pointing at the same parameters.
        With ``strict`` a missing or unexpected key is an error; a shape mismatch always is.
        Returns ``(missing_keys, unexpected_keys)``.
        """
        own = self._state_slots()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {', '.join(unexpected)}")
        for key, (module, name, kind) in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            value = value.data if isinstance(value, Tensor) else value
            target = module._parameters[name].data if kind == "param" else module._buffers[name]
            if tuple(value.shape) != tuple(target.shape):
                problems.append(f"{key}: the checkpoint has shape {tuple(value.shape)}, the "
                                f"model has {tuple(target.shape)}")
        if problems:
            raise ValueError(f"load_state_dict into {type(self).__name__}: "
                             + "; ".join(problems))
        for key, (module, name, kind) in own.items():
            if key in state_dict:
                value = state_dict[key]
                value = value.data if isinstance(value, Tensor) else value
                target = module._parameters[name].data if kind == "param" else module._buffers[name]
                target[...] = backend.to_device(value, backend.device_of(target),
                                                target.dtype)
        return missing, unexpected

    def _state_slots(self):
        slots = OrderedDict()
        for prefix, module in self.named_modules():
            dot = f"{prefix}." if prefix else ""
            for name, p in module._parameters.items():
                if p is not None:
                    slots[dot + name] = (module, name, "param")
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    slots[dot + name] = (module, name, "buffer")
        return slots

    def to(self, device):
        """Move every parameter, its gradient and every buffer to ``device`` ('cpu' or
        'cuda'), in place: optimizers built on the parameters keep working."""
        backend.array_module_for(device)  # refuse an unknown or absent device first
        for module in self.modules():
            for p in module._parameters.values():
                if p is not None:
                    p.data = backend.to_device(p.data, device)
                    if p.grad is not None:
                        p.grad = backend.to_device(p.grad, device)
            for name, b in module._buffers.items():
                if b is not None:
                    module._buffers[name] = backend.to_device(b, device)
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def num_parameters(self):
        return sum(p.size for p in self.parameters())

    # -- printing ---------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ")
                 for name, child in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ("\n" + "\n".join(lines) + "\n)" if lines else ")")


class _RemovableHandle:
    def __init__(self, table, key):
        self._table, self._key = table, key

    def remove(self):
        self._table.pop(self._key, None)
