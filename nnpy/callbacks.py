"""Callbacks for ``Sequential.fit(…, callbacks=[…])``: the ones ``nnpy train`` hangs off the
same loop.

    from nnpy.callbacks import EarlyStopping, ModelCheckpoint
    model.fit(x, y, epochs=30, validation_split=0.1,
              callbacks=[EarlyStopping(monitor="val_loss", patience=3), ModelCheckpoint("checkpoints/run")])

A monitor must be a value the loop logs (``train_loss``, ``train_<metric>``, ``val_loss``,
``val_<metric>`` for each compiled metric): ``fit`` checks every one before the first step.
Write your own by subclassing ``Callback`` (hooks ``on_train_begin``, ``on_epoch_begin``,
``on_batch_end``, ``on_epoch_end(trainer, logs)``, ``on_train_end``).
"""
from .engine.callbacks import Callback, CSVLogger, EarlyStopping, MaxTime, ModelCheckpoint, StopOnSignal

__all__ = ["Callback", "CSVLogger", "EarlyStopping", "MaxTime", "ModelCheckpoint", "StopOnSignal"]
