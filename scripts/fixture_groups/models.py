"""Parameter counts of the seeds' networks built with PyTorch/torchvision (same architectures)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

GROUP = "models"


class FbnMnistNet(nn.Module):
    # seed 000 mnist_train.py (PyTorch MNIST example with BN after fc1)
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, 5)
        self.conv2 = nn.Conv2d(10, 20, 5)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(320, 50)
        self.bn = nn.BatchNorm1d(50)
        self.fc2 = nn.Linear(50, 10)


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.BatchNorm1d(120), nn.ReLU(), nn.Linear(120, 84), nn.BatchNorm1d(84), nn.ReLU(),
        nn.Linear(84, 10))


def seed002(kind):
    def norm(c):
        return {"bn": nn.BatchNorm2d(c), "gn": nn.GroupNorm(2, c), "ln": nn.GroupNorm(1, c)}[kind]
    conv = lambda i, o, k: nn.Conv2d(i, o, k, bias=False)  # noqa: E731
    return nn.Sequential(conv(1, 10, 3), norm(10), conv(10, 20, 3), norm(20), conv(20, 10, 1), conv(10, 20, 3), norm(20),
                         conv(20, 12, 3), norm(12), conv(12, 12, 3), norm(12), conv(12, 10, 1))


def cifar_cnn(bn):
    layers, c = [], 3
    for _ in range(4):
        for o in (60, 60):
            layers += [nn.Conv2d(c, o, 3, padding=1)] + ([nn.BatchNorm2d(o)] if bn else [])
            c = o
    for o in (100, 100):
        layers += [nn.Conv2d(c, o, 3, padding=1)] + ([nn.BatchNorm2d(o)] if bn else [])
        c = o
    return nn.Sequential(*layers, nn.Linear(400, 100))


def vgg_cifar(depth):
    m = getattr(torchvision.models, f"vgg{depth}_bn")(num_classes=10)
    m.avgpool = nn.AdaptiveAvgPool2d(1)
    m.classifier = nn.Sequential(nn.Linear(512, 512), nn.ReLU(), nn.Dropout(), nn.Linear(512, 512), nn.ReLU(), nn.Dropout(), nn.Linear(512, 10))
    return m


def alexnet_bn():
    m = torchvision.models.alexnet(num_classes=10)
    feats = []
    for layer in m.features:
        feats.append(layer)
        if isinstance(layer, nn.Conv2d):
            feats.append(nn.BatchNorm2d(layer.out_channels))
    m.features = nn.Sequential(*feats)
    return m


def resnet_cifar(depth):
    m = getattr(torchvision.models, f"resnet{depth}")(num_classes=10)
    m.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    m.maxpool = nn.Identity()
    return m


def count(m):
    return sum(p.numel() for p in m.parameters())


def make():
    from fixture_lib import case

    counts = {
        "fbn-mnist": count(FbnMnistNet()),
        "lenet5": count(lenet5()),
        "seed002-bn": count(seed002("bn")),
        "seed002-gn": count(seed002("gn")),
        "cifar-cnn-bn": count(cifar_cnn(True)),
        "cifar-cnn-none": count(cifar_cnn(False)),
        "alexnet-bn": count(alexnet_bn()),
    }
    for d in (11, 13, 16, 19):
        counts[f"vgg{d}-bn"] = count(vgg_cifar(d))
    for d in (18, 34, 50, 101, 152):
        counts[f"resnet{d}"] = count(resnet_cifar(d))
    return [case("counts", counts)]
