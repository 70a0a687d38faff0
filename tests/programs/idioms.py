"""One-line idioms from the same tutorials and chapters, each its own tiny program, so
that every gap shows up as one test. Where a line comes from is in its docstring."""
import math


def factory_size_keyword(torch, shared):
    """d2l (LeNet, numerical stability): ``torch.rand(size=(1, 1, 28, 28))``."""
    return {"rand": torch.rand(size=(1, 1, 28, 28), dtype=torch.float32).shape,
            "randn": torch.randn(size=(2, 3)).shape, "zeros": torch.zeros(size=(2,)),
            "ones": torch.ones(size=(2,))}


def out_keyword(torch, shared):
    """Blitz, tensors: ``torch.matmul(tensor, tensor.T, out=y3)``, ``torch.mul(..., out=)``."""
    tensor = torch.from_numpy(shared.uniform("t", (3, 3)))
    y3 = torch.rand_like(tensor)
    torch.matmul(tensor, tensor.T, out=y3)
    z3 = torch.rand_like(tensor)
    torch.mul(tensor, tensor, out=z3)
    return {"y3": y3, "z3": z3}


def dtype_str(torch, shared):
    """Blitz, tensors: ``print(f"Datatype of tensor: {tensor.dtype}")``."""
    return {"str": str(torch.ones(1).dtype).replace(torch.__name__ + ".", "torch."),
            "repr": repr(torch.int64).replace(torch.__name__ + ".", "torch.")}


def scatter_one_hot(torch, shared):
    """Transforms tutorial: ``torch.zeros(10, dtype=torch.float).scatter_(0, torch.tensor(y), value=1)``."""
    return {"one_hot": torch.zeros(10, dtype=torch.float).scatter_(0, torch.tensor(3), value=1)}


def one_hot(torch, shared):
    """``F.one_hot(labels, num_classes)``, d2l's RNN chapters and many training scripts."""
    return {"one_hot": torch.nn.functional.one_hot(torch.tensor([0, 2, 1]), 3)}


def cross_entropy_probabilities(torch, shared):
    """``nn.CrossEntropyLoss()(logits, class_probabilities)`` (torch >= 1.10), e.g. on the
    transforms tutorial's one-hot targets or with mixup/label smoothing."""
    logits = torch.tensor(shared.randn("logits", (4, 3)), requires_grad=True)
    target = torch.from_numpy(shared.uniform("p", (4, 3)))
    target = target / target.sum(1, keepdim=True)
    loss = torch.nn.CrossEntropyLoss()(logits, target)
    loss.backward()
    return {"loss": loss, "grad": logits.grad}


def set_grad_enabled(torch, shared):
    """Transfer-learning tutorial: ``with torch.set_grad_enabled(phase == 'train'):``."""
    x = torch.ones(2, requires_grad=True)
    with torch.set_grad_enabled(False):
        off = (x * 2).requires_grad
    with torch.set_grad_enabled(True):
        on = (x * 2).requires_grad
    return {"off": off, "on": on}


def inference_mode(torch, shared):
    """Newer tutorials' evaluation: ``with torch.inference_mode():``."""
    x = torch.ones(2, requires_grad=True)
    with torch.inference_mode():
        y = x * 2
    return {"requires_grad": y.requires_grad, "y": y}


def isfinite(torch, shared):
    """Checking a loss: ``torch.isfinite(loss)``, ``torch.isnan(x).any()``."""
    x = torch.tensor([1.0, math.inf, math.nan])
    return {"isfinite": torch.isfinite(x), "isnan": torch.isnan(x), "method": x.isfinite()}


def allclose_equal(torch, shared):
    """``torch.allclose(a, b)`` and ``torch.equal(a, b)``, the tutorials' comparisons."""
    a = torch.tensor([1.0, 2.0])
    return {"allclose": torch.allclose(a, a + 1e-9), "equal": torch.equal(a, a.clone()),
            "not_equal": torch.equal(a, a + 1)}


def autograd_grad(torch, shared):
    """``torch.autograd.grad(outputs, inputs, create_graph=True)`` (the autograd
    tutorial's further reading, gradient penalties, higher-order derivatives)."""
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x ** 3).sum()
    (g,) = torch.autograd.grad(y, x, create_graph=True)
    g.sum().backward()
    return {"g": g, "second": x.grad}


def in_place_reuse(torch, shared):
    """micrograd's ``c += c + 1``: an in-place add on a non-leaf whose old value the
    right-hand side also used; torch gives dc/da = 2, each use contributes."""
    a = torch.tensor([-4.0], requires_grad=True)
    c = a + 0
    c += c + 1
    c.backward()
    return {"grad": a.grad}


def in_place_multiply_reuse(torch, shared):
    """``h *= h + 1`` on a non-leaf: d/da [h (h + 1)] = 2h + 1."""
    a = torch.tensor([3.0], requires_grad=True)
    h = a + 0
    h *= h + 1
    h.backward()
    return {"grad": a.grad}


def in_place_after_scalar_multiply(torch, shared):
    """micrograd's ``d += d * 2 + ...``: multiplying by a constant saves nothing that the
    in-place add invalidates (torch's Mul saves ``self`` only when ``other`` needs a grad)."""
    a = torch.tensor([-4.0], requires_grad=True)
    d = a + 0
    y = d * 2
    d += 1
    (y + d).sum().backward()
    return {"grad": a.grad}


def state_dict_entry_size(torch, shared):
    """Saving & loading tutorial: ``model.state_dict()[param_tensor].size()``."""
    model = torch.nn.Linear(3, 2)
    return {"sizes": [model.state_dict()[k].size() for k in model.state_dict()]}


def state_dict_entry_data(torch, shared):
    """d2l parameter management: ``net.state_dict()['2.bias'].data``."""
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    shared.load(torch, net, "net")
    return {"bias": net.state_dict()["2.bias"].data}


def legacy_tensor_types(torch, shared):
    """Older code: ``torch.FloatTensor([...])``, ``x.type(torch.LongTensor)``."""
    x = torch.FloatTensor([1.5, 2.5])
    return {"x": x, "long": x.type(torch.LongTensor)}


def seeding(torch, shared):
    """Reproducibility boilerplate: ``torch.cuda.manual_seed_all(seed)``,
    ``torch.backends.cudnn.deterministic = True``."""
    torch.manual_seed(0)
    torch.cuda.manual_seed_all(0)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    return {"ok": True}


def view_after_conv(torch, shared):
    """Older blitz, saving tutorial: ``x = x.view(-1, 16 * 5 * 5)`` on a convolution's
    (pooled) output, which torch always returns contiguous; the view shares its memory."""
    conv = torch.nn.Conv2d(6, 16, 5)
    shared.load(torch, conv, "conv")
    x = conv(torch.from_numpy(shared.randn("x", (2, 6, 14, 14))))
    pooled = torch.nn.functional.max_pool2d(x, 2)
    flat = x.view(2, -1)
    with torch.no_grad():
        flat[0, 0] = 5.0                  # a view shares memory: x sees the write
    return {"contiguous": x.is_contiguous(), "view": pooled.view(-1, 16 * 5 * 5),
            "conv_view": flat, "write_through": x[0, 0, 0, 0].item()}
