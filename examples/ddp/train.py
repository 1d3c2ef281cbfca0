#!/usr/bin/env python3
"""A tiny DistributedDataParallel job for torchjobd (CPU, gloo).

Each rank fits the same linear model y = X·w* + b* + noise on its own shard of a synthetic data
set. DDP all-reduces the gradients, so every rank holds identical parameters after each step.

The rendezvous comes from the environment the PyTorchJob controller injects:
MASTER_ADDR, MASTER_PORT, WORLD_SIZE and RANK (init_method "env://").

Prints "rank R step S loss L" after every step and "rank R done" at the end.
"""
import argparse
import os
import sys
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=int(os.environ.get("STEPS", "20")))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--features", type=int, default=8)
    ap.add_argument("--lr", type=float, default=0.1)
    args = ap.parse_args()

    torch.set_num_threads(1)
    for var in ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK"):
        if var not in os.environ:
            sys.exit(f"train.py: {var} is not set (run it as a PyTorchJob replica)")
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    print(f"rank {rank} world_size {world} master {os.environ['MASTER_ADDR']}:"
          f"{os.environ['MASTER_PORT']}", flush=True)

    t0 = time.monotonic()
    dist.init_process_group("gloo", init_method="env://")
    assert dist.get_rank() == rank and dist.get_world_size() == world

    # The same true model on every rank; a different data shard per rank.
    torch.manual_seed(0)
    w_true = torch.randn(args.features, 1)
    b_true = torch.tensor([0.5])
    gen = torch.Generator().manual_seed(1000 + rank)

    model = DDP(torch.nn.Linear(args.features, 1))  # DDP broadcasts rank 0's initial weights
    opt = torch.optim.SGD(model.parameters(), lr=args.lr)
    loss_fn = torch.nn.MSELoss()

    for step in range(args.steps):
        x = torch.randn(args.batch, args.features, generator=gen)
        y = x @ w_true + b_true + 0.01 * torch.randn(args.batch, 1, generator=gen)
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()  # gradients are averaged across ranks here
        opt.step()
        print(f"rank {rank} step {step} loss {loss.item():.6f}", flush=True)

    # Every rank must hold the same parameters: check by all-reducing them.
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    mean = flat.clone()
    dist.all_reduce(mean)
    mean /= world
    if not torch.allclose(flat, mean, atol=1e-6):
        sys.exit(f"rank {rank}: parameters diverged across ranks")

    dist.barrier()
    dist.destroy_process_group()
    print(f"rank {rank} done in {time.monotonic() - t0:.1f}s", flush=True)


if __name__ == "__main__":
    main()
