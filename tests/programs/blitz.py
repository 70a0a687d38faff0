"""The 60-minute blitz: tensors, autograd, a first network, a CIFAR-style classifier.

Random data stands in for CIFAR-10; the program flow and idioms are the tutorial's:
``ones_like``/``rand_like``, shape tuples, ``dtype``/``device``, ``tensor[:, 1] = 0``,
``cat``, ``@`` and ``.T``, ``out=``, ``add_``, ``.item()``, the NumPy bridge,
``backward(gradient)``, ``grad_fn.next_functions``, ``f.data.sub_``, and the classifier's
``_, predicted = torch.max(outputs, 1)`` and ``classes[labels[j]]``.
"""
import numpy as np


def tensor_basics(torch, shared):
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)

    x_ones = torch.ones_like(x_data)
    x_rand = torch.rand_like(x_data, dtype=torch.float)

    shape = (2, 3,)
    rand_tensor = torch.rand(shape)
    ones_tensor = torch.ones(shape)
    zeros_tensor = torch.zeros(shape)

    tensor = torch.rand(3, 4)
    attributes = {
        "shape": tensor.shape,
        "is_float32": tensor.dtype == torch.float32,
        "device": str(tensor.device),
        "x_data_is_int64": x_data.dtype == torch.int64,
        "x_np_is_int64": x_np.dtype == torch.int64,
        "x_rand_is_float": x_rand.dtype == torch.float,
        "x_rand_in_range": bool(((x_rand >= 0) & (x_rand < 1)).all()),
        "rand_shape": rand_tensor.shape,
    }
    if torch.accelerator.is_available():
        tensor = tensor.to(torch.accelerator.current_accelerator())

    tensor = torch.from_numpy(shared.uniform("tensor", (4, 4)))
    first_row = tensor[0]
    first_column = tensor[:, 0]
    last_column = tensor[..., -1]
    second_column = tensor[:, 1]        # a view: it sees the assignment below
    tensor[:, 1] = 0
    print(f"First row: {first_row}")
    print(f"First column: {first_column}")
    print(f"Last column: {last_column}")
    print(tensor)

    t1 = torch.cat([tensor, tensor, tensor], dim=1)

    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)
    z1 = tensor * tensor
    z2 = tensor.mul(tensor)

    agg = tensor.sum()
    agg_item = agg.item()
    print(agg_item, type(agg_item))

    added = tensor.clone()
    added.add_(5)

    return {"x_data": x_data, "x_np": x_np, "x_ones": x_ones, "zeros": zeros_tensor,
            "ones": ones_tensor, "attributes": attributes, "first_row": first_row,
            "first_column": first_column, "tensor": tensor, "t1": t1,
            "second_column_view": second_column, "y1": y1, "y2": y2, "z1": z1, "z2": z2,
            "agg_item": agg_item, "added": added}


def out_arguments(torch, shared):
    """The blitz's ``out=`` forms of matmul and mul, writing into an existing tensor."""
    tensor = torch.from_numpy(shared.uniform("tensor", (4, 4)))
    y1 = tensor @ tensor.T
    y3 = torch.rand_like(y1)
    torch.matmul(tensor, tensor.T, out=y3)
    z3 = torch.rand_like(tensor)
    torch.mul(tensor, tensor, out=z3)
    return {"y3": y3, "y1": y1, "z3": z3}


def printing(torch, shared):
    """What ``print`` shows for the blitz's tensors, with the module's name as torch's."""
    tensor = torch.ones(4, 4)
    tensor[:, 1] = 0
    shown = [str(tensor), f"First row: {tensor[0]}", str(torch.tensor([1.5, 2.25])),
             repr(torch.tensor([1, 2])), str(torch.tensor(3.5)),
             str(torch.tensor([0.5, 1.0], requires_grad=True)),
             str(torch.zeros(2, dtype=torch.float64)), f"{torch.tensor(0.123456):.3f}",
             f"Shape of tensor: {tensor.shape}", f"Device tensor is stored on: {tensor.device}"]
    return {"shown": [line.replace(torch.__name__ + ".", "torch.") for line in shown],
            "dtype": f"Datatype of tensor: {tensor.dtype}".replace(torch.__name__ + ".", "torch."),
            "grad_fn": str((torch.tensor([1.0], requires_grad=True) * 2).sum()).split("grad_fn=")[0]}


def numpy_bridge(torch, shared):
    t = torch.ones(5)
    n = t.numpy()
    t.add_(1)
    n_after_add = n.copy()          # n shares t's memory: it now holds 2s

    n = np.ones(5)
    t = torch.from_numpy(n)
    np.add(n, 1, out=n)             # and t sees this change
    t_after_np_add = t.clone()

    x = torch.tensor([1.5, 2.5])
    return {"n_after_add": n_after_add, "t_after_np_add": t_after_np_add,
            "t_is_double": t.dtype == torch.float64, "tolist": x.tolist(),
            "float": float(x[0]), "int": int(torch.tensor(7)),
            "asarray": np.asarray(x) * 2}


def autograd_basics(torch, shared):
    """The autograd tutorials: a mean's gradient, vector-Jacobian products, no_grad."""
    x = torch.ones(2, 2, requires_grad=True)
    y = x + 2
    z = y * y * 3
    out = z.mean()
    out.backward()
    facts = {"y_has_grad_fn": y.grad_fn is not None, "x_grad_fn": x.grad_fn,
             "out_is_scalar": out.dim() == 0, "x_grad": x.grad.clone()}

    a = torch.from_numpy(shared.randn("a", (2, 2)))
    a = ((a * 3) / (a - 1))
    facts["a_requires_grad"] = a.requires_grad
    a.requires_grad_(True)
    facts["a_requires_grad_after"] = a.requires_grad
    b = (a * a).sum()
    facts["b_has_grad_fn"] = b.grad_fn is not None

    # A non-scalar output needs the vector of the vector-Jacobian product.
    x = torch.tensor(shared.randn("x", (3,)), requires_grad=True)
    y = x * 2
    doublings = 0
    while y.data.norm() < 1000:
        y = y * 2
        doublings += 1
    v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
    y.backward(v)
    facts["doublings"] = doublings
    facts["vjp"] = x.grad

    facts["requires_grad_inside"] = None
    facts["requires_grad_outside"] = (x ** 2).requires_grad
    with torch.no_grad():
        facts["requires_grad_inside"] = (x ** 2).requires_grad
    detached = x.detach()
    facts["detached_requires_grad"] = detached.requires_grad
    facts["detached_equal"] = bool(x.eq(detached).all())

    # The newer tutorial's Q = 3a^3 - b^2 with an external gradient.
    a = torch.tensor([2., 3.], requires_grad=True)
    b = torch.tensor([6., 4.], requires_grad=True)
    Q = 3 * a ** 3 - b ** 2
    external_grad = torch.tensor([1., 1.])
    Q.backward(gradient=external_grad)
    facts["dQ/da"] = 9 * a ** 2 == a.grad
    facts["dQ/db"] = -2 * b == b.grad

    # The "Automatic differentiation" basics: a logistic model and its graph.
    x = torch.ones(5)
    y = torch.zeros(3)
    w = torch.tensor(shared.randn("w", (5, 3)), requires_grad=True)
    bias = torch.tensor(shared.randn("bias", (3,)), requires_grad=True)
    z = torch.matmul(x, w) + bias
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    facts["z_grad_fn"] = z.grad_fn is not None
    facts["loss_grad_fn"] = loss.grad_fn is not None
    facts["next_functions"] = len(loss.grad_fn.next_functions) > 0
    loss.backward()
    facts["w_grad"] = w.grad
    facts["bias_grad"] = bias.grad
    with torch.no_grad():
        z = torch.matmul(x, w) + bias
    facts["z_no_grad"] = z.requires_grad
    z_det = (torch.matmul(x, w) + bias).detach()
    facts["z_det"] = z_det.requires_grad

    # Jacobian products accumulate until the gradient is zeroed.
    inp = torch.eye(4, 5, requires_grad=True)
    out = (inp + 1).pow(2).t()
    out.backward(torch.ones_like(out), retain_graph=True)
    first = inp.grad.clone()
    out.backward(torch.ones_like(out), retain_graph=True)
    second = inp.grad.clone()
    inp.grad.zero_()
    out.backward(torch.ones_like(out), retain_graph=True)
    facts["jacobian"] = [first, second, inp.grad]
    return facts


def neural_networks(torch, shared):
    """The blitz's first Net: 1x32x32 input, F.max_pool2d with (2, 2), a manual
    ``f.data.sub_(f.grad.data * learning_rate)`` step, then ``optim.SGD``."""
    nn = torch.nn
    F = torch.nn.functional
    optim = torch.optim

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    net = Net()
    shared.load(torch, net, "blitz_net")
    print(net)
    params = list(net.parameters())
    facts = {"num_params": len(params), "conv1_weight_size": params[0].size(),
             "conv1_out": params[0].size(0)}

    input = torch.from_numpy(shared.randn("input", (1, 1, 32, 32)))
    out = net(input)
    facts["out"] = out
    net.zero_grad()
    out.backward(torch.from_numpy(shared.randn("out_grad", (1, 10))))
    facts["conv1_bias_grad_vjp"] = net.conv1.bias.grad.clone()

    output = net(input)
    target = torch.from_numpy(shared.randn("target", (10,)))
    target = target.view(1, -1)
    criterion = nn.MSELoss()
    loss = criterion(output, target)
    facts["loss"] = loss.item()
    facts["graph"] = [loss.grad_fn is not None,
                      loss.grad_fn.next_functions[0][0] is not None]

    net.zero_grad()
    facts["bias_grad_before"] = net.conv1.bias.grad
    loss.backward()
    facts["bias_grad_after"] = net.conv1.bias.grad.clone()

    learning_rate = 0.01
    for f in net.parameters():
        f.data.sub_(f.grad.data * learning_rate)
    facts["after_manual_step"] = net.state_dict()

    optimizer = optim.SGD(net.parameters(), lr=0.01)
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        output = net(input)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    facts["losses"] = losses
    facts["after_sgd"] = net.state_dict()
    return facts


def cifar_net(torch):
    """The CIFAR-10 tutorial's Net class (the saving-and-loading recipe reuses it)."""
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    return Net


def cifar_classifier(torch, shared, tmpdir, batches=6):
    """Training a classifier: the CIFAR-10 Net and loops on random 3x32x32 images."""
    nn = torch.nn
    optim = torch.optim

    classes = ("plane", "car", "bird", "cat",
               "deer", "dog", "frog", "horse", "ship", "truck")
    batch_size = 4
    images = torch.from_numpy(shared.uniform("images", (batch_size * batches, 3, 32, 32), -1, 1))
    labels = torch.from_numpy(shared.labels("labels", batch_size * batches, 10))
    trainset = torch.utils.data.TensorDataset(images, labels)
    trainloader = torch.utils.data.DataLoader(trainset, batch_size=batch_size,
                                              shuffle=False, num_workers=0)
    testloader = torch.utils.data.DataLoader(trainset, batch_size=batch_size,
                                             shuffle=False, num_workers=0)

    Net = cifar_net(torch)

    device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    net = Net()
    shared.load(torch, net, "cifar_net")
    net.to(device)

    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)

    losses = []
    for epoch in range(2):
        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            inputs, labels = data[0].to(device), data[1].to(device)
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()

            running_loss += loss.item()
            if i % 2 == 1:
                print(f"[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 2:.3f}")
                losses.append(running_loss / 2)
                running_loss = 0.0
    print("Finished Training")

    PATH = str(tmpdir / "cifar_net.pth")
    torch.save(net.state_dict(), PATH)

    dataiter = iter(testloader)
    images, labels = next(dataiter)
    ground_truth = " ".join(f"{classes[labels[j]]:5s}" for j in range(4))
    print("GroundTruth: ", ground_truth)

    net = Net()
    net.load_state_dict(torch.load(PATH, weights_only=True))
    outputs = net(images)
    _, predicted = torch.max(outputs, 1)
    predicted_names = " ".join(f"{classes[predicted[j]]:5s}" for j in range(4))
    print("Predicted: ", predicted_names)

    correct = 0
    total = 0
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            outputs = net(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    print(f"Accuracy of the network on the test images: {100 * correct // total} %")

    correct_pred = {classname: 0 for classname in classes}
    total_pred = {classname: 0 for classname in classes}
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            outputs = net(images)
            _, predictions = torch.max(outputs, 1)
            for label, prediction in zip(labels, predictions):
                if label == prediction:
                    correct_pred[classes[label]] += 1
                total_pred[classes[label]] += 1
    class_accuracy = {}
    for classname, correct_count in correct_pred.items():
        if total_pred[classname]:
            class_accuracy[classname] = 100 * float(correct_count) / total_pred[classname]

    return {"losses": losses, "state": net.state_dict(), "ground_truth": ground_truth,
            "predicted": predicted_names, "outputs": outputs, "correct": correct,
            "total": total, "class_accuracy": class_accuracy}


def neural_networks_view(torch, shared):
    """The older blitz's Net: ``x.view(-1, self.num_flat_features(x))`` after pooling."""
    nn = torch.nn
    F = torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.conv1 = nn.Conv2d(1, 6, 3)
            self.conv2 = nn.Conv2d(6, 16, 3)
            self.fc1 = nn.Linear(16 * 6 * 6, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.view(-1, self.num_flat_features(x))
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

        def num_flat_features(self, x):
            size = x.size()[1:]
            num_features = 1
            for s in size:
                num_features *= s
            return num_features

    net = Net()
    shared.load(torch, net, "old_blitz")
    input = torch.from_numpy(shared.randn("input", (2, 1, 32, 32)))
    out = net(input)
    target = torch.from_numpy(shared.randn("target", (2, 10)))
    loss = nn.MSELoss()(out, target)
    net.zero_grad()
    loss.backward()
    return {"out": out, "loss": loss.item(), "conv1_grad": net.conv1.weight.grad}
