"""pytorch/examples ``mnist/main.py``: its Net, Adadelta with StepLR, the train and test
loops, on a small random stand-in for MNIST (a map-style Dataset of normalised images).

``dropout`` defaults to the example's rates; the comparison runs pass 0, since torch and
deepgrad draw different masks, and a second run with the example's rates checks the
behaviour that does not depend on the draw.
"""


def mnist(torch, shared, tmpdir, dropout=(0.25, 0.5), n_train=96, n_test=64, epochs=2,
          batch_size=32, test_batch_size=32):
    nn = torch.nn
    F = torch.nn.functional
    optim = torch.optim
    StepLR = torch.optim.lr_scheduler.StepLR

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(dropout[0])
            self.dropout2 = nn.Dropout(dropout[1])
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = self.conv1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.dropout2(x)
            x = self.fc2(x)
            output = F.log_softmax(x, dim=1)
            return output

    class Digits(torch.utils.data.Dataset):
        """Stands in for ``datasets.MNIST(..., transform=Compose([ToTensor(), Normalize]))``."""

        def __init__(self, images, targets):
            self.images, self.targets = images, targets

        def __len__(self):
            return len(self.targets)

        def __getitem__(self, index):
            img = torch.from_numpy(self.images[index]).unsqueeze(0)
            img = (img - 0.1307) / 0.3081
            return img, int(self.targets[index])

    log = []

    def train(log_interval, model, device, train_loader, optimizer, epoch):
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            if batch_idx % log_interval == 0:
                print("Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(
                    epoch, batch_idx * len(data), len(train_loader.dataset),
                    100. * batch_idx / len(train_loader), loss.item()))
                log.append(loss.item())

    def test(model, device, test_loader):
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for data, target in test_loader:
                data, target = data.to(device), target.to(device)
                output = model(data)
                test_loss += F.nll_loss(output, target, reduction="sum").item()
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()

        test_loss /= len(test_loader.dataset)
        print("\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n".format(
            test_loss, correct, len(test_loader.dataset),
            100. * correct / len(test_loader.dataset)))
        return test_loss, correct

    use_cuda = torch.cuda.is_available()
    use_mps = torch.backends.mps.is_available()
    torch.manual_seed(1)
    if use_cuda:
        device = torch.device("cuda")
    elif use_mps:
        device = torch.device("mps")
    else:
        device = torch.device("cpu")

    train_kwargs = {"batch_size": batch_size}
    test_kwargs = {"batch_size": test_batch_size}
    if use_cuda:
        cuda_kwargs = {"num_workers": 1, "pin_memory": True, "shuffle": True}
        train_kwargs.update(cuda_kwargs)
        test_kwargs.update(cuda_kwargs)

    dataset1 = Digits(shared.uniform("train_images", (n_train, 28, 28)),
                      shared.labels("train_targets", n_train, 10))
    dataset2 = Digits(shared.uniform("test_images", (n_test, 28, 28)),
                      shared.labels("test_targets", n_test, 10))
    train_loader = torch.utils.data.DataLoader(dataset1, **train_kwargs)
    test_loader = torch.utils.data.DataLoader(dataset2, **test_kwargs)

    model = Net().to(device)
    shared.load(torch, model, "mnist")
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)

    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    results = []
    lrs = []
    for epoch in range(1, epochs + 1):
        train(1, model, device, train_loader, optimizer, epoch)
        results.append(test(model, device, test_loader))
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])

    torch.save(model.state_dict(), str(tmpdir / "mnist_cnn.pt"))
    return {"device": str(device), "log": log, "test": results, "lrs": lrs,
            "last_lr": scheduler.get_last_lr(), "state": model.state_dict()}
