"""A process's part of each global batch (no MPI needed): every sample once per epoch, the
augmentation and dropout draws of one process, the data-parallel loop equal to the plain one."""
import numpy as np
import pytest

from nnpy.engine.parallel.batch_part import BatchPart, PartGenerator
from nnpy.data.loader import DataLoader
from nnpy.data.transforms import make_transforms
from nnpy.engine.data_prep import prepare_data
from nnpy.engine.parallel.comm import Communicator
from nnpy.engine.parallel.run import describe_processes
from nnpy.engine.parallel.sharding import ShardedLoader
from nnpy.engine.parallel.trainer import DataParallelTrainer
from nnpy.engine.plan import load_plan
from nnpy.engine.timer import Timer
from nnpy.engine.trainer import Trainer
from nnpy.errors import ConfigError, DataError

from .conftest import REPO

AUGMENT = {"shift": 2, "rotate": 10, "scale": 0.1, "thickness": 0.5, "hflip": 0.5}


def test_parts_are_contiguous_cover_the_batch_and_differ_by_one_at_most():
    for total in range(1, 30):
        for size in range(1, total + 1):
            parts = [BatchPart.of(total, r, size) for r in range(size)]
            assert parts[0].lo == 0 and parts[-1].hi == total
            assert all(a.hi == b.lo for a, b in zip(parts, parts[1:]))
            assert max(p.n for p in parts) - min(p.n for p in parts) <= 1 and min(p.n for p in parts) >= 1


@pytest.mark.parametrize("draw", [
    lambda g, n: g.random((n, 3), dtype=np.float32),
    lambda g, n: g.random(n),
    lambda g, n: g.uniform(-2, 2, size=(n, 2)),
    lambda g, n: g.integers(0, 5, size=n),
    lambda g, n: g.normal(1.0, 2.0, size=(n, 4, 2)),
    lambda g, n: g.standard_normal((n,), dtype=np.float32),
])
def test_a_part_draws_the_numbers_its_rows_draw_in_the_whole_batch(draw):
    total, size = 11, 3
    whole_gen = np.random.default_rng(7)
    whole = np.concatenate([draw(whole_gen, total), draw(whole_gen, total)])
    for r in range(size):
        part = BatchPart.of(total, r, size)
        gen = np.random.default_rng(7)
        got = np.concatenate([draw(PartGenerator(gen, part), part.n) for _ in range(2)])
        expected = np.concatenate([whole[:total][part.rows], whole[total:][part.rows]])
        assert np.array_equal(got, expected)
        assert gen.bit_generator.state == whole_gen.bit_generator.state     # advanced as in one process


def test_a_draw_that_is_not_per_sample_is_refused_and_one_number_passes_through():
    gen = PartGenerator(np.random.default_rng(0), BatchPart.of(10, 0, 2))
    with pytest.raises(DataError, match=r"size \(3,\) is not one value per sample of this process's 5"):
        gen.random(3)
    assert np.random.default_rng(0).random() == PartGenerator(np.random.default_rng(0), gen.part).random()
    with pytest.raises(AttributeError, match="random, uniform, integers"):
        gen.choice([1, 2])


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
def test_the_processes_cover_each_epoch_s_order_exactly_once(size):
    ids = np.arange(103)
    loader = DataLoader(ids, ids, batch_size=20, seed=5)       # 5 batches of 20 and one of 3
    if size > 3:
        with pytest.raises(ConfigError, match="the last batch of each epoch has 3 sample"):
            ShardedLoader(loader, 0, size)
        return
    shards = [ShardedLoader(loader, r, size) for r in range(size)]
    assert [len(s) for s in shards] == [len(loader)] * size
    for epoch in (0, 1):
        walked = [xb for b in range(len(loader)) for s in shards for xb, _ in [next(s.batches(epoch, b))]]
        assert np.array_equal(np.concatenate(walked), loader.order(epoch))   # once each, in one process's order


def test_augmented_parts_are_the_rows_of_the_augmented_global_batch():
    rng = np.random.default_rng(0)
    x = rng.random((70, 1, 28, 28), dtype=np.float32)
    loader = DataLoader(x, np.arange(70), batch_size=32, seed=9,
                        transform=make_transforms(AUGMENT, {"mean": 0.1, "std": 0.3}))
    for size in (2, 3):
        shards = [ShardedLoader(loader, r, size) for r in range(size)]
        for (whole, _), *parts in zip(loader.batches(1), *[s.batches(1) for s in shards]):
            assert np.array_equal(whole, np.concatenate([xb for xb, _ in parts]))    # bit for bit


def test_a_batch_smaller_than_the_processes_is_refused():
    loader = DataLoader(np.zeros((10, 2)), np.zeros(10), batch_size=2)
    with pytest.raises(ConfigError, match="data.batch_size: 2 is smaller than the 3 processes"):
        ShardedLoader(loader, 0, 3)


def test_the_data_parallel_loop_on_one_process_is_the_plain_loop_bit_for_bit():
    overrides = ["data.limit=500", "data.val_split=100", "data.batch_size=32", "model.hidden=[16]", "train.epochs=1"]
    results = []
    for parallel in (False, True):
        plan = load_plan(REPO / "configs" / "mlp.yaml", overrides)        # dropout and augmentation on
        cfg, model = plan.config, plan.model
        data = prepare_data(plan.source, cfg["data"], cfg["train"], cfg["seed"], augmentation=plan.augmentation)
        if parallel:
            trainer, loader = DataParallelTrainer.for_model(model, comm=Communicator()), \
                ShardedLoader(data.train_loader, 0, 1)
        else:
            trainer, loader = Trainer.for_model(model), data.train_loader
        state = trainer.fit(loader, data.val, epochs=1)
        results.append((model.state_dict(), state.history[-1], model.rng.bit_generator.state))
    (w1, logs1, rng1), (w2, logs2, rng2) = results
    assert all(np.array_equal(w1[k], w2[k]) for k in w1) and rng1 == rng2
    assert {k: v for k, v in logs1.items() if k not in ("seconds", "samples_per_s")} == \
        {k: v for k, v in logs2.items() if k not in ("seconds", "samples_per_s")}


def test_the_run_says_how_it_is_shared_out_and_how_batchnorm_normalizes():
    class TwoProcesses(Communicator):
        rank, size, machines, blas_threads = 0, 2, 1, 1

    plan = load_plan(REPO / "configs" / "mlp.yaml", ["model.batchnorm=true", "data.batch_size=25"])
    loader = ShardedLoader(DataLoader(np.zeros((100, 2)), np.zeros(100), batch_size=25), 0, 2)
    text = describe_processes(TwoProcesses(), plan, loader)
    assert text.startswith("data-parallel: 2 processes on 1 machine · batch 25 = 12–13 per process · 1 BLAS thread each")
    assert "BatchNorm normalizes with each process's own part of the batch" in text


def test_the_time_in_allreduce_is_reported_as_a_phase():
    timer = Timer()
    with timer.phase("allreduce"):
        pass
    fields = timer.phase_fields()
    assert fields[1].startswith("data ") and fields[-1].startswith("allreduce ")
