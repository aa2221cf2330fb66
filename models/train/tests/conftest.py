"""Shared fixtures: a small generated training pack (the tests do not read ../shared/data)."""
import pytest
import torch

from train.data import synthetic_pack


@pytest.fixture(scope="session")
def tiny_pack(tmp_path_factory):
    torch.set_num_threads(2)
    return synthetic_pack(str(tmp_path_factory.mktemp("pack") / "pack.npz"))
