"""RunConfig: the one frozen description of a run, and the one table of every setting's range, choices and help.

Each field carries a ``Setting`` in its metadata. The Train page's widgets, every command-line flag, validation and
the hyperparameter search space are all generated from that table, so a range is written once, here.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

from lstm_core.errors import LabError
from lstm_core.features import Feature, Normalization
from lstm_core.i18n import Key, Sentences
from lstm_core.targets import Target, target_of

__all__ = ["CELLS", "FEATURES", "NORMALIZATIONS", "OPTIMIZERS", "SETTINGS", "TARGETS", "Cell", "Feature", "Group",
           "Normalization", "Optimizer", "RunConfig", "Setting", "Target", "setting_of"]


class Cell(StrEnum):
    """The recurrent layer the model is built from."""

    LSTM = "lstm"
    GRU = "gru"
    RNN = "rnn"  # a plain tanh RNN: no gates, the vanishing gradient's classic victim

    @property
    def gate_blocks(self) -> int:
        """Weight blocks per layer: LSTM 4 (i, f, g, o), GRU 3 (r, z, n), a plain RNN 1."""
        return {Cell.LSTM: 4, Cell.GRU: 3, Cell.RNN: 1}[self]


class Optimizer(StrEnum):
    """How the weights are updated from their gradients."""

    ADAM = "adam"
    ADAMW = "adamw"
    SGD = "sgd"


class Group(StrEnum):
    """Which column of the Train form a setting sits in."""

    DATA = "data"
    MODEL = "model"
    TRAINING = "training"


@dataclass(frozen=True)
class Setting:
    """How one RunConfig field may be set: its range or choices, its scale, and whether a search may vary it.

    The label is translated under ``cfg_<name>`` and the help, where there is one, under ``cfg_<name>_help``.
    """

    group: Group
    low: float | None = None  # inclusive bounds of a number
    high: float | None = None
    step: float | None = None  # a widget's step for floats
    slider: bool = False  # shown as a slider over [low, high] (else a number input without bounds of its own)
    log: bool = False  # searched (and best read) on a log scale
    choices: tuple[str, ...] = ()  # a choice, or for a tuple field the allowed members
    # the hyperparameter search may vary it; not the target or horizon (their losses are not comparable across
    # trials) nor the feature set (a subset search needs a space of its own)
    searchable: bool = True
    help: bool = False  # a help text exists under cfg_<name>_help
    # where a first search starts, inside [low, high]: the table allows 512 hidden units and a learning rate of 1,
    # which a newcomer's first study need not spend trials on (None: the whole range)
    search_range: tuple[float, float] | None = None
    search_default: bool = False  # searched when no search is named (the Tune page's and the CLI's default)
    costly: bool = False  # a job's memory and time grow with it (a search's costliest corner takes its high end)
    is_int: bool = False  # filled in from the field's annotation when the table is built
    enum: type[StrEnum] | None = None  # the choices' type, filled in likewise

    @property
    def is_choice(self) -> bool:
        return bool(self.choices)

    @property
    def offered(self) -> tuple[str, ...]:
        """The choices a new run is offered: all of them but a legacy input, kept only so that old bundles read as
        they did (``Feature.is_legacy``: accepted, never offered)."""
        if self.enum is not Feature:
            return self.choices
        return tuple(c for c in self.choices if not Feature(c).is_legacy)


def _setting(default: Any, **kwargs: Any) -> Any:
    return field(default=default, metadata={"setting": Setting(**kwargs)})


def _values(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


TARGETS = _values(Target)
FEATURES = _values(Feature)
CELLS = _values(Cell)
NORMALIZATIONS = _values(Normalization)
OPTIMIZERS = _values(Optimizer)


@dataclass(frozen=True)
class RunConfig:
    """Every setting of one training run; widgets, trainer, saved bundle and CLI all read this.

    Constructing one validates it: an out-of-range value raises LabError naming the setting, so a RunConfig that
    exists is one that can run. The defaults are the first run a newcomer sees: next-week volatility from the size
    of each day's move, which real prices do make learnable (persistence and EWMA are strong baselines to beat).
    """

    # data
    target: Target = _setting(Target.LOGVOL, group=Group.DATA, choices=TARGETS, searchable=False, help=True)
    features: tuple[Feature, ...] = _setting((Feature.LOGABSRET,), group=Group.DATA, choices=FEATURES, searchable=False,
                                       help=True)
    window: int = _setting(60, group=Group.DATA, low=2, high=500, help=True, costly=True,
                           search_range=(20, 120))  # input days per sample
    horizon: int = _setting(20, group=Group.DATA, low=1, high=60, searchable=False, help=True)  # days ahead to predict
    # forecast steps: step k (1..steps) predicts the target `horizon + k - 1` days ahead, one output each
    steps: int = _setting(1, group=Group.DATA, low=1, high=60, searchable=False, help=True)
    train_frac: float = _setting(0.7, group=Group.DATA, low=0.1, high=0.95, step=0.05, slider=True, searchable=False)
    val_frac: float = _setting(0.15, group=Group.DATA, low=0.02, high=0.5, step=0.01, slider=True, searchable=False)
    # each window relative to its own level (see Normalization); the default target's measured default
    normalize: Normalization = _setting(Normalization.WINDOW, group=Group.DATA, choices=NORMALIZATIONS, help=True)
    # model
    cell: Cell = _setting(Cell.LSTM, group=Group.MODEL, choices=CELLS, help=True)
    hidden: int = _setting(32, group=Group.MODEL, low=1, high=512, log=True, search_range=(8, 128), costly=True,
                           search_default=True)
    layers: int = _setting(1, group=Group.MODEL, low=1, high=4, search_range=(1, 3), search_default=True, costly=True)
    dropout: float = _setting(0.0, group=Group.MODEL, low=0.0, high=0.9, step=0.05, slider=True, help=True,
                              search_range=(0.0, 0.5))  # between layers
    # training
    optimizer: Optimizer = _setting(Optimizer.ADAM, group=Group.TRAINING, choices=OPTIMIZERS)
    lr: float = _setting(5e-4, group=Group.TRAINING, low=1e-6, high=1.0, step=1e-5, log=True,
                         search_range=(1e-4, 1e-2), search_default=True)
    batch: int = _setting(64, group=Group.TRAINING, low=1, high=4096, log=True, search_range=(16, 256), costly=True)
    epochs: int = _setting(60, group=Group.TRAINING, low=1, high=1000, searchable=False)
    patience: int = _setting(10, group=Group.TRAINING, low=1, high=1000, searchable=False, help=True)
    clip_grad: float = _setting(1.0, group=Group.TRAINING, low=0.0, high=1e3, step=0.1, help=True,
                                search_range=(0.1, 10.0))  # max gradient norm; 0: off
    weight_decay: float = _setting(0.0, group=Group.TRAINING, low=0.0, high=1.0, step=1e-4, help=True,
                                   search_range=(0.0, 1e-3))
    seed: int = _setting(0, group=Group.TRAINING, low=0, high=2**31 - 1, searchable=False)

    def __post_init__(self) -> None:
        if isinstance(self.features, list):  # JSON and widgets hand over lists
            object.__setattr__(self, "features", tuple(self.features))
        wrong = []  # every value out of its range at once, not one per try
        for f in fields(self):
            try:
                value = _checked(f.name, getattr(self, f.name), setting_of(f.name))
            except LabError as err:
                wrong.append(err)
                continue
            object.__setattr__(self, f.name, value)  # choices become their enum members
        if len(wrong) == 1:
            raise wrong[0]
        if wrong:
            raise LabError("err_cfg_many", n=len(wrong), errors=Sentences((e.key, e.params) for e in wrong))
        if len(set(self.features)) != len(self.features):
            raise LabError("err_cfg_repeats", name="features", value=", ".join(self.features))
        if self.train_frac + self.val_frac >= 0.98:
            raise LabError("err_cfg_no_test", train=self.train_frac, val=self.val_frac)
        if self.dropout > 0 and not self.allows_dropout(self.layers):
            raise LabError("err_cfg_dropout_one_layer", dropout=self.dropout)
        target_of(self.target).check(self.window, self.horizon, self.steps)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists)."""
        d = asdict(self)
        d["features"] = [str(f) for f in self.features]
        return {k: str(v) if isinstance(v, StrEnum) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        """Rebuild from ``to_dict`` output, ignoring keys this version does not know; LabError if a value is bad.

        Bundles saved before the volatility target existed stored every setting, so their defaults never apply.
        """
        if not isinstance(d, dict):
            raise LabError("err_cfg_not_a_table")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in d.items() if k in known}
        values.setdefault("normalize", Normalization.NONE)  # a record from before it existed was not normalised
        if isinstance(values.get("features"), list):
            values["features"] = tuple(values["features"])
        return cls(**values)

    @classmethod
    def for_target(cls, **given: Any) -> RunConfig:
        """The settings ``given`` over the defaults of their target (its features and horizon), then RunConfig's."""
        target = given.get("target", cls.__dataclass_fields__["target"].default)
        try:
            defaults = target_of(target).defaults
        except ValueError:  # an unknown target: RunConfig's own check names it
            defaults = {}
        return cls(**{**defaults, **given})

    def with_(self, **changes: Any) -> RunConfig:
        """A copy with some settings changed (validated like any other)."""
        return replace(self, **changes)

    @staticmethod
    def allows_dropout(layers: int) -> bool:
        """Dropout acts between layers: one layer has nowhere to apply it."""
        return layers >= 2

    @property
    def min_window(self) -> int:
        """The shortest window this target allows at this horizon (a volatility's persistence reads h days)."""
        return target_of(self.target).min_window(self.horizon)

    @property
    def n_features(self) -> int:
        return len(self.features)

    def warnings(self) -> list[tuple[str, dict[str, object]]]:
        """Settings that run but will probably mislead, as (translation key, params) pairs."""
        return target_of(self.target).warnings(self.features)


def setting_of(name: str) -> Setting:
    """The ``Setting`` of a RunConfig field."""
    return SETTINGS[name]


_ENUMS = {"Target": Target, "tuple[Feature, ...]": Feature, "Cell": Cell, "Optimizer": Optimizer,
          "Normalization": Normalization}


def build_table(cls: type) -> dict[str, Setting]:
    """Each field's ``Setting`` of a dataclass, with its type (whole number, or which enum) read from the annotation."""
    return {f.name: replace(f.metadata["setting"], is_int=f.type in ("int", int), enum=_ENUMS.get(f.type))
            for f in fields(cls)}


SETTINGS: dict[str, Setting] = build_table(RunConfig)


def _checked(name: str, value: object, setting: Setting) -> object:
    """``value`` as its setting's type (a choice as its enum member); LabError naming ``name`` unless it fits."""
    if setting.is_choice:
        members = value if isinstance(value, tuple) else (value,)
        if isinstance(value, tuple) and not value:
            raise LabError("err_cfg_no_features")
        for member in members:
            if not isinstance(member, str) or member not in setting.choices:
                raise LabError("err_cfg_choice", name=name, value=member, choices=", ".join(setting.choices))
        if setting.enum is None:
            return value
        parsed = tuple(setting.enum(m) for m in members)
        return parsed if isinstance(value, tuple) else parsed[0]
    wrong_type = isinstance(value, bool) or not isinstance(value, int if setting.is_int else (int, float))
    if wrong_type or not math.isfinite(value) or not setting.low <= value <= setting.high:
        low, high = (int(setting.low), int(setting.high)) if setting.is_int else (setting.low, setting.high)
        raise LabError("err_cfg_setting_range", name=name, label=Key(f"cfg_{name}"), value=value, low=low, high=high)
    return value
