"""``forecast``: the next H steps of real-valued series (CSV, Parquet; wide or long
layout), with past and future covariates, point forecasts or prediction intervals.

The folder: this declaration; ``network.py``, the network; ``module.py``, its
TaskModule and data module; ``behaviour.py``, the TaskSpec (data, final metrics, evaluate, predict,
describe). The model's names are reached from here too (``rnnkit.tasks.forecast.<name>``).
"""

from ..declare import Arg, Option, Task, module_names
from ..options import LAYOUT, TABLES
from ..spec import SEARCHED_CELLS

TASK = Task(
    name="forecast",
    about="the next H steps of real-valued series",
    options=(
        *TABLES, *LAYOUT,
        Option("model.bidirectional", "read the input window both ways (direct decoder only)"),
        Option("data.target", "column(s) to forecast, COL[,COL]"),
        Option("data.covariates", "past covariates, COL[,COL]"),
        Option("data.future_covariates", "covariates known ahead, COL[,COL]"),
        Option("data.horizon", "steps ahead"),
        Option("data.input_length", "past steps the model reads (default: max(3 x horizon, 2 x season), "
                                    "at most half the training part)"),
        Option("data.stride", "steps between training windows"),
        Option("data.season", "seasonal period (seasonal-naive baseline, MASE)"),
        Option("data.scale", "scaling per series, over all series, or none"),
        Option("model.loss", "mse, mae (point) or gaussian, quantile (prediction intervals)"),
        Option("model.quantiles", "with loss quantile: comma-separated levels"),
        Option("model.decoder", "direct (all H steps at once) or autoregressive (one step, fed back)"),
        Option("model.window_norm", "direct decoder: standardise each input window's targets by their own mean "
                                    "and std, and the forecast back (default: on with the direct decoder)"),
    ),
    reads=("series tables: .csv .parquet (wide: a column per series; long: --series-column)",),
    model="rnnkit.tasks.forecast.module:ForecastTask",
    behaviour="rnnkit.tasks.forecast.behaviour:FORECAST",
    metrics=("mae", "rmse", "smape", "mase", "interval_coverage"),
    capabilities=frozenset({"intervals", "streaming", "export", "predict_plot"}),
    # the input length is searched too, among multiples of the horizon and the season
    # (see ForecastSpec.search_space)
    tuning_space={
        "model.cell": ("choice", list(SEARCHED_CELLS)),
        "model.hidden_size": ("int", 16, 256, "log"),
        "model.num_layers": ("int", 1, 3),
        "model.bidirectional": ("choice", [False, True]),    # direct decoder only
        "model.window_norm": ("choice", [True, False]),      # direct decoder only
        "model.dropout": ("float", 0.0, 0.3),
        "train.lr": ("float", 3e-4, 1e-2, "log"),
    },
    evaluate_args=(
        Arg("horizon", "steps ahead (default: trained)", metavar="H"),
        Arg("backtest_start", "rolling-origin backtest, a forecast from every position from K on", metavar="K"),
        Arg("season", "seasonal period of the seasonal-naive baseline and MASE (default: trained)", metavar="S"),
    ),
    predict_args=(
        Arg("horizon", "steps after the end of the history (default: trained)", metavar="H"),
        Arg("future", "the future covariates' values for the steps ahead", "paths", "PATH", "future_paths"),
    ),
)


# the model's names (the TaskModule, its helpers) as rnnkit.tasks.<task>.<name>, loaded on first use
__getattr__ = module_names(__name__)
