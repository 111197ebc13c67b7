"""Fashion-MNIST for the project's scripts and examples: the reader of its gzip IDX files, the
loader, and the seeded training loop they share (scripts/make_deepfeat.py,
examples/torch_last_layer.py, examples/torch_finetune.py).

The data is the Debian package dataset-fashion-mnist (bash scripts/install-deps.sh).
"""

import gzip
import pathlib
import struct
import time

import numpy as np
import torch

FASHION_MNIST = pathlib.Path("/usr/share/datasets/fashion-mnist")


def read_idx(path: pathlib.Path) -> np.ndarray:
    """An IDX file of unsigned bytes (the MNIST format), gzip-compressed."""
    with gzip.open(path, "rb") as file:
        data = file.read()
    zero, dtype, rank = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    shape = struct.unpack(f">{rank}I", data[4 : 4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(shape)


def load_split(folder: pathlib.Path, prefix: str, flat: bool = False):
    """The images of `prefix` ("train" or "t10k") as float32 in [0, 1], N x 1 x 28 x 28 (N x 784
    with `flat`), and their int64 labels."""
    images = read_idx(folder / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz")
    if len(images) != len(labels):
        raise ValueError(f"{folder}/{prefix}: {len(images)} images but {len(labels)} labels")
    pixels = images.astype(np.float32)[:, None, :, :] / np.float32(255)
    if flat:
        pixels = pixels.reshape(len(pixels), -1)
    return torch.from_numpy(pixels), torch.from_numpy(labels.astype(np.int64))


def train(net, images, labels, optimizer, epochs, generator, *, batch_size=128, scheduler=None,
          log=print, after_epoch=None):
    """Minimises the cross-entropy of `net` on (images, labels) with `optimizer`: `epochs` passes
    over the rows in an order drawn from `generator`, in batches of `batch_size`; `scheduler`
    (if any) steps after every batch. Logs each epoch's mean loss and time, with the text that
    `after_epoch()` returns (if given; it may evaluate the network). Leaves `net` in evaluation
    mode."""
    for epoch in range(epochs):
        start = time.perf_counter()
        net.train()
        order = torch.randperm(len(images), generator=generator)
        total = 0.0
        for first in range(0, len(images), batch_size):
            batch = order[first : first + batch_size]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(images[batch]), labels[batch])
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            total += loss.item() * len(batch)
        seconds = time.perf_counter() - start
        net.eval()
        extra = "" if after_epoch is None else f", {after_epoch()}"
        log(f"epoch {epoch + 1}/{epochs}: loss {total / len(images):.4f} ({seconds:.1f} s){extra}")
    net.eval()
