"""More of the tutorials' flows: a custom Dataset with transforms (the data tutorial's
one-hot ``target_transform``), saving and resuming a general checkpoint, the
transfer-learning loop (``set_grad_enabled(phase == 'train')``, a frozen backbone, a new
head, ``copy.deepcopy`` of the best weights), and the ways to turn autograd off."""
import copy

from .blitz import cifar_net


def dataset_transforms(torch, shared, n=40, batch_size=8, steps=5):
    nn = torch.nn
    Dataset = torch.utils.data.Dataset
    DataLoader = torch.utils.data.DataLoader

    images = (shared.uniform("images", (n, 28, 28)) * 255).astype("uint8")
    labels = shared.labels("labels", n, 10)

    class CustomImageDataset(Dataset):
        def __init__(self, images, labels, transform=None, target_transform=None):
            self.images, self.img_labels = images, labels
            self.transform = transform
            self.target_transform = target_transform

        def __len__(self):
            return len(self.img_labels)

        def __getitem__(self, idx):
            image = self.images[idx]
            label = int(self.img_labels[idx])
            if self.transform:
                image = self.transform(image)
            if self.target_transform:
                label = self.target_transform(label)
            return image, label

    def to_tensor(pic):
        """What ToTensor does: HxW uint8 -> 1xHxW float32 in [0, 1]."""
        return torch.from_numpy(pic).unsqueeze(0).float().div(255)

    one_hot = lambda y: torch.zeros(10, dtype=torch.float).scatter_(0, torch.tensor(y), value=1)  # noqa: E731
    ds = CustomImageDataset(images, labels, transform=to_tensor, target_transform=one_hot)
    img, target = ds[0]
    loader = DataLoader(ds, batch_size=batch_size, shuffle=False)
    train_features, train_labels = next(iter(loader))
    print(f"Feature batch shape: {train_features.size()}")
    print(f"Labels batch shape: {train_labels.size()}")

    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    shared.load(torch, model, "transforms")
    loss_fn = nn.CrossEntropyLoss()          # class probabilities as targets
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for step, (X, y) in zip(range(steps), loader):
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return {"img": img, "target": target, "batch": [train_features.size(), train_labels.size()],
            "losses": losses, "state": model.state_dict()}


def general_checkpoint(torch, shared, tmpdir, steps=3):
    nn = torch.nn
    F = torch.nn.functional
    optim = torch.optim

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5, bias=False)     # batch norm follows
            self.bn = nn.BatchNorm2d(6)
            self.pool = nn.MaxPool2d(2, 2)
            self.fc1 = nn.Linear(6 * 6 * 6, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.bn(self.conv1(x))))
            x = torch.flatten(x, 1)
            return self.fc1(x)

    X = torch.from_numpy(shared.randn("X", (8, 3, 16, 16)))
    y = torch.from_numpy(shared.labels("y", 8, 10))

    def train(model, optimizer, steps):
        model.train()
        for _ in range(steps):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(X), y)
            loss.backward()
            optimizer.step()
        return loss

    net = Net()
    shared.load(torch, net, "ckpt_net")
    optimizer = optim.Adam(net.parameters(), lr=0.01, betas=(0.9, 0.99), weight_decay=1e-3)
    loss = train(net, optimizer, steps)

    PATH = str(tmpdir / "model.pt")
    EPOCH = 5
    torch.save({
        "epoch": EPOCH,
        "model_state_dict": net.state_dict(),
        "optimizer_state_dict": optimizer.state_dict(),
        "loss": loss.item(),
    }, PATH)
    before = train(net, optimizer, steps).item()    # the run that continues unbroken

    model = Net()
    optimizer = optim.Adam(model.parameters(), lr=0.5)
    checkpoint = torch.load(PATH, weights_only=True)
    model.load_state_dict(checkpoint["model_state_dict"])
    optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
    epoch = checkpoint["epoch"]
    saved_loss = checkpoint["loss"]
    resumed = train(model, optimizer, steps).item()

    model.eval()
    return {"epoch": epoch, "saved_loss": saved_loss, "unbroken": before, "resumed": resumed,
            "lr_restored": optimizer.param_groups[0]["lr"], "state": model.state_dict(),
            "same_as_unbroken": [(a - b).abs().max().item() < 1e-6 for a, b in
                                 zip(model.parameters(), net.parameters())]}


def transfer_learning(torch, shared, tmpdir, num_epochs=2, n=32, batch_size=8):
    nn = torch.nn
    optim = torch.optim
    lr_scheduler = torch.optim.lr_scheduler
    data = torch.utils.data

    class SmallNet(nn.Module):
        """Stands in for a torchvision model: a backbone and an ``fc`` head."""

        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8),
                                          nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1)))
            self.fc = nn.Linear(8, 1000)

        def forward(self, x):
            return self.fc(torch.flatten(self.features(x), 1))

    image_datasets = {
        x: data.TensorDataset(torch.from_numpy(shared.randn(f"{x}_X", (n, 3, 12, 12))),
                              torch.from_numpy(shared.labels(f"{x}_y", n, 2)))
        for x in ["train", "val"]}
    dataloaders = {x: data.DataLoader(image_datasets[x], batch_size=batch_size, shuffle=False)
                   for x in ["train", "val"]}
    dataset_sizes = {x: len(image_datasets[x]) for x in ["train", "val"]}
    class_names = ["ants", "bees"]
    device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")

    def train_model(model, criterion, optimizer, scheduler, num_epochs):
        best_model_params_path = str(tmpdir / "best_model_params.pt")
        torch.save(model.state_dict(), best_model_params_path)
        best_acc = 0.0
        log = []
        for epoch in range(num_epochs):
            for phase in ["train", "val"]:
                if phase == "train":
                    model.train()
                else:
                    model.eval()

                running_loss = 0.0
                running_corrects = 0
                for inputs, labels in dataloaders[phase]:
                    inputs = inputs.to(device)
                    labels = labels.to(device)
                    optimizer.zero_grad()
                    with torch.set_grad_enabled(phase == "train"):
                        outputs = model(inputs)
                        _, preds = torch.max(outputs, 1)
                        loss = criterion(outputs, labels)
                        if phase == "train":
                            loss.backward()
                            optimizer.step()
                    running_loss += loss.item() * inputs.size(0)
                    running_corrects += torch.sum(preds == labels.data)
                if phase == "train":
                    scheduler.step()

                epoch_loss = running_loss / dataset_sizes[phase]
                epoch_acc = running_corrects.double() / dataset_sizes[phase]
                print(f"{phase} Loss: {epoch_loss:.4f} Acc: {epoch_acc:.4f}")
                log.append((phase, epoch_loss, epoch_acc.item()))
                if phase == "val" and epoch_acc > best_acc:
                    best_acc = epoch_acc
                    torch.save(model.state_dict(), best_model_params_path)
        model.load_state_dict(torch.load(best_model_params_path, weights_only=True))
        return model, log

    # Fine-tuning: every parameter trains, the head replaced by a two-class one.
    model_ft = SmallNet()
    num_ftrs = model_ft.fc.in_features
    model_ft.fc = nn.Linear(num_ftrs, len(class_names))
    shared.load(torch, model_ft, "finetune")
    best_wts = copy.deepcopy(model_ft.state_dict())
    model_ft = model_ft.to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer_ft = optim.SGD(model_ft.parameters(), lr=0.01, momentum=0.9)
    exp_lr_scheduler = lr_scheduler.StepLR(optimizer_ft, step_size=1, gamma=0.1)
    model_ft, log_ft = train_model(model_ft, criterion, optimizer_ft, exp_lr_scheduler,
                                   num_epochs)

    # Feature extraction: the backbone frozen, only the new head trains.
    model_conv = SmallNet()
    for param in model_conv.parameters():
        param.requires_grad = False
    model_conv.fc = nn.Linear(model_conv.fc.in_features, 2)
    shared.load(torch, model_conv, "fixed")
    frozen_before = copy.deepcopy(model_conv.features.state_dict())
    optimizer_conv = optim.SGD(model_conv.fc.parameters(), lr=0.01, momentum=0.9)
    exp_lr_scheduler = lr_scheduler.StepLR(optimizer_conv, step_size=1, gamma=0.1)
    model_conv, log_conv = train_model(model_conv, criterion, optimizer_conv,
                                       exp_lr_scheduler, num_epochs)
    trainable = [name for name, p in model_conv.named_parameters() if p.requires_grad]
    frozen_grads = [p.grad for p in model_conv.features.parameters()]
    return {"log_ft": log_ft, "log_conv": log_conv, "ft": model_ft.state_dict(),
            "conv": model_conv.state_dict(), "best_wts_copy": best_wts,
            "frozen_before": frozen_before, "trainable": trainable,
            "frozen_grads": frozen_grads}


def grad_modes(torch, shared):
    """``@torch.no_grad()`` on a function, ``inference_mode``, ``set_grad_enabled`` as a
    context and as a call, ``enable_grad`` inside ``no_grad``."""
    x = torch.ones(2, requires_grad=True)

    @torch.no_grad()
    def evaluate(t):
        return (t * 2).requires_grad, torch.is_grad_enabled()

    with torch.inference_mode():
        inference = [(x * 2).requires_grad, torch.is_grad_enabled()]
    with torch.set_grad_enabled(False):
        disabled = [(x * 2).requires_grad, torch.is_grad_enabled()]
    with torch.no_grad():
        with torch.enable_grad():
            enabled = [(x * 2).requires_grad, torch.is_grad_enabled()]
    torch.set_grad_enabled(False)
    call_off = (x * 2).requires_grad
    torch.set_grad_enabled(True)
    call_on = (x * 2).requires_grad
    return {"decorator": list(evaluate(x)), "inference_mode": inference,
            "set_grad_enabled": disabled, "enable_grad": enabled,
            "calls": [call_off, call_on], "restored": torch.is_grad_enabled()}


def saving_loading_models(torch, shared, tmpdir):
    """The "Saving and Loading Models" tutorial: print each state-dict entry's size and
    the optimizer's state dict, save and reload the state dict, switch to ``eval()``."""
    F = torch.nn.functional

    class TheModelClass(cifar_net(torch)):  # the recipe's model: the CIFAR-10 Net,
        def forward(self, x):                # flattened with view as the recipe does
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = x.view(-1, 16 * 5 * 5)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    model = TheModelClass()
    shared.load(torch, model, "the_model")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)

    sizes = []
    print("Model's state_dict:")
    for param_tensor in model.state_dict():
        print(param_tensor, "\t", model.state_dict()[param_tensor].size())
        sizes.append((param_tensor, model.state_dict()[param_tensor].size()))
    print("Optimizer's state_dict:")
    for var_name in optimizer.state_dict():
        print(var_name, "\t", optimizer.state_dict()[var_name])

    PATH = str(tmpdir / "model_weights.pth")
    torch.save(model.state_dict(), PATH)
    model = TheModelClass()
    model.load_state_dict(torch.load(PATH, weights_only=True))
    model.eval()
    x = torch.from_numpy(shared.randn("x", (2, 3, 32, 32)))
    return {"sizes": sizes, "optimizer_keys": list(optimizer.state_dict()),
            "param_groups": {k: optimizer.state_dict()["param_groups"][0][k] for k in
                             ("lr", "momentum", "nesterov", "params")},
            "output": model(x)}
