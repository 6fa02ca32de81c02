"""Real datasets that ship inside installed packages, exported as files rnnkit reads, so
every example runs offline.

* forecast: time series bundled with statsmodels (and aeon's forecasting samples),
  written as one CSV in wide layout: a time column (``date`` as ``YYYY-MM-DD``, or
  ``year`` as an integer) then one column per variable, names lowercased, a missing
  value as an empty cell;
* classify: UCR/UEA archive sets bundled with aeon, copied byte for byte as
  ``NAME_TRAIN.ts`` and ``NAME_TEST.ts`` (and ``NAME_TRAIN.tsv`` / ``NAME_TEST.tsv``
  where aeon has them).

Every entry names a suggested ``rnnkit train`` command; ``{dir}`` in it is the folder
the files were exported to.

Example::

    from rnnkit.datasets import export, list_datasets
    [d["name"] for d in list_datasets() if d["kind"] == "forecast"]   # ['co2', 'sunspots', ...]
    export("co2", "data/co2")                                          # [Path('data/co2/co2.csv')]

or on the command line::

    rnnkit datasets list
    rnnkit datasets export co2 data/co2
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from ._optional import EXTRAS, MissingExtraError, available, missing_message, require
from .errors import UsageError
from .io.atomic import copy_atomic, write_atomic

__all__ = ["export", "list_datasets"]


@dataclass(frozen=True)
class _Forecast:
    name: str
    description: str
    package: str
    load: str                      # name of the loader function below
    time_column: str
    target: list[str]
    horizon: int
    input_length: int
    season: int | None = None
    fill: str | None = None
    kind: str = field(default="forecast", init=False)

    def files(self) -> list[str]:
        return [f"{self.name}.csv"]

    def commands(self) -> list[str]:
        flags = [f"--data {{dir}}/{self.name}.csv", f"--target {','.join(self.target)}",
                 f"--time-column {self.time_column}", f"--horizon {self.horizon}",
                 f"--input-length {self.input_length}"]
        if self.season:
            flags.append(f"--season {self.season}")
        if self.fill:
            flags.append(f"--fill {self.fill}")
        return [f"rnnkit train forecast {' '.join(flags)} --out runs/{self.name}"]

    def fields(self) -> dict:
        return {"target": ",".join(self.target), "time_column": self.time_column, "season": self.season,
                "horizon": self.horizon, "input_length": self.input_length, "fill": self.fill}


@dataclass(frozen=True)
class _Classify:
    name: str
    description: str
    folder: str                    # aeon/datasets/data/<folder>/
    package: str = "aeon"
    kind: str = field(default="classify", init=False)

    def files(self) -> list[str]:
        return [f"{self.name}_TRAIN.ts", f"{self.name}_TEST.ts"]

    def commands(self) -> list[str]:
        slug = self.name.lower()
        return [f"rnnkit train classify --data {{dir}}/{self.name}_TRAIN.ts --test {{dir}}/{self.name}_TEST.ts "
                f"--out runs/{slug}"]

    def fields(self) -> dict:
        return {"train": f"{self.name}_TRAIN.ts", "test": f"{self.name}_TEST.ts"}


_SM = "statsmodels"
_DATASETS = [
    _Forecast("co2", "Mauna Loa atmospheric CO2 (ppm), weekly 1958-03-29..2001-12-29, 2,284 weeks of which 59 "
                     "missing (empty cells: train with --fill); statsmodels",
              _SM, "_co2", "date", ["co2"], horizon=52, input_length=104, season=52, fill="interpolate"),
    _Forecast("sunspots", "yearly sunspot numbers 1700..2008, 309 years, an 11-year cycle; statsmodels",
              _SM, "_sunspots", "year", ["sunactivity"], horizon=11, input_length=44, season=11),
    _Forecast("nile", "yearly flow of the Nile at Aswan (10^8 m^3) 1871..1970, 100 years, a level shift "
                      "around 1898; statsmodels",
              _SM, "_nile", "year", ["volume"], horizon=5, input_length=20),
    _Forecast("elnino", "monthly sea surface temperature (deg C) of the Nino 1+2 region 1950-01..2010-12, "
                        "732 months; statsmodels",
              _SM, "_elnino", "date", ["temperature"], horizon=12, input_length=48, season=12),
    _Forecast("macrodata", "US macroeconomic series, quarterly 1959Q1..2009Q3, 203 quarters, 12 variables "
                           "(realgdp, realcons, realinv, realgovt, realdpi, cpi, m1, tbilrate, unemp, pop, "
                           "infl, realint; seasonally adjusted); statsmodels",
              _SM, "_macrodata", "date", ["realgdp", "realcons", "realinv"], horizon=8, input_length=24),
    _Forecast("interest_inflation", "German inflation (dp, change of log GDP deflator) and long-term interest "
                                    "rate (r), quarterly 1972Q2..1998Q4, 107 quarters; statsmodels",
              _SM, "_interest_inflation", "date", ["dp", "r"], horizon=4, input_length=16, season=4),
    _Forecast("danish_data", "Danish money demand: log real money (lrm), log real income (lry), log prices "
                             "(lpy), bond rate (ibo), deposit rate (ide), quarterly 1974Q1..1987Q3, "
                             "55 quarters; statsmodels",
              _SM, "_danish_data", "date", ["lrm"], horizon=4, input_length=12, season=4),
    _Forecast("airline", "monthly international airline passengers (thousands) 1949-01..1960-12, 144 months, "
                         "trend and a yearly season; aeon",
              "aeon", "_airline", "date", ["passengers"], horizon=12, input_length=36, season=12),
    _Forecast("lynx", "yearly Canadian lynx trappings 1821..1934, 114 years, a ~10-year cycle; aeon",
              "aeon", "_lynx", "year", ["lynx"], horizon=10, input_length=30, season=10),
    _Forecast("uschange", "quarterly % changes of US consumption, income, production, savings and "
                          "unemployment 1970Q1..2016Q3, 187 quarters; aeon",
              "aeon", "_uschange", "date", ["consumption"], horizon=8, input_length=24, season=4),
    _Classify("ACSF1", "power consumption of home appliances, 10 types; 1,460 steps, 1 channel, 10 classes, "
                       "100 train / 100 test; UCR via aeon", "ACSF1"),
    _Classify("ArrowHead", "outlines of arrowheads as 1-D series, 3 types; 251 steps, 1 channel, 3 classes, "
                           "36 train / 175 test; UCR via aeon", "ArrowHead"),
    _Classify("BasicMotions", "smartwatch accelerometer and gyroscope while standing, walking, running or "
                              "playing badminton; 100 steps, 6 channels, 4 classes, 40 train / 40 test; "
                              "UEA via aeon", "BasicMotions"),
    _Classify("Covid3Month_disc", "daily Covid-19 cases per country over 3 months, mortality in 3 bands; "
                                  "84 steps, 1 channel, 3 classes, 140 train / 61 test; aeon", "Covid3Month_disc"),
    _Classify("GunPoint", "hand position of actors drawing a gun or pointing a finger; 150 steps, 1 channel, "
                          "2 classes, 50 train / 150 test; UCR via aeon", "GunPoint"),
    _Classify("ItalyPowerDemand", "Italian daily electricity demand, October-March vs April-September days; "
                                  "24 hourly steps, 1 channel, 2 classes, 67 train / 1,029 test; UCR via aeon",
              "ItalyPowerDemand"),
    _Classify("JapaneseVowels", "9 speakers saying the vowel /ae/, 12 LPC cepstrum coefficients; 7..29 steps "
                                "(variable), 12 channels, 9 classes, 270 train / 370 test; UEA via aeon",
              "JapaneseVowels"),
    _Classify("JapaneseVowels_eq", "JapaneseVowels at equal length; 25 steps, 12 channels, 9 classes, "
                                   "270 train / 370 test; UEA via aeon", "JapaneseVowels"),
    _Classify("OSULeaf", "outlines of leaves of 6 tree species as 1-D series; 427 steps, 1 channel, 6 classes, "
                         "200 train / 242 test; UCR via aeon", "OSULeaf"),
    _Classify("PickupGestureWiimoteZ", "Wii remote z-axis acceleration of 10 gestures; 29..361 steps "
                                       "(variable), 1 channel, 10 classes, 50 train / 50 test; UCR via aeon",
              "PickupGestureWiimoteZ"),
    _Classify("PickupGestureWiimoteZ_eq", "PickupGestureWiimoteZ at equal length; 361 steps, 1 channel, "
                                          "10 classes, 50 train / 50 test; UCR via aeon", "PickupGestureWiimoteZ"),
]
_BY_NAME = {d.name.lower(): d for d in _DATASETS}


def list_datasets() -> list[dict]:
    """The datasets :func:`export` can write, forecasting first.

    Returns:
        one dict per dataset: ``name``, ``kind`` (``"forecast"`` or ``"classify"``),
        ``description`` (one line: what, frequency or length, size, source package),
        ``package`` (where it is read from), ``installed`` (whether that package is),
        ``files`` (the names :func:`export` writes, besides any ``.tsv``), ``commands``
        (suggested ``rnnkit train`` commands, ``{dir}`` standing for the export folder),
        and the suggested settings: forecast: ``target``, ``time_column``, ``season``,
        ``horizon``, ``input_length``, ``fill``; classify: ``train``, ``test``.
    """
    return [{"name": d.name, "kind": d.kind, "description": d.description, "package": d.package,
             "installed": _installed(d.package), "files": d.files(), "commands": d.commands(), **d.fields()}
            for d in _DATASETS]


def export(name: str, out_dir, overwrite: bool = False) -> list[Path]:
    """Write dataset ``name`` into folder ``out_dir`` (created if missing).

    Each file is written to a temporary file beside it, then renamed over its name, so
    an interrupted export leaves no partial file. Nothing is written when a file would
    be replaced and ``overwrite`` is false.

    Args:
        name: a name from :func:`list_datasets` (case-insensitive).
        out_dir: the folder to write into.
        overwrite: replace files that exist.

    Returns:
        the paths written.

    Raises:
        UsageError: an unknown name (listing the known ones), a missing package, an
        existing file without ``overwrite``, an ``out_dir`` that is a file.
    """
    d = _BY_NAME.get(str(name).lower())
    if d is None:
        raise UsageError(f"unknown dataset {name!r}; expected one of: {', '.join(x.name for x in _DATASETS)}")
    if not _installed(d.package):
        raise MissingExtraError(missing_message(d.package, for_what=f"dataset {d.name!r}"), name=d.package,
                                extra=EXTRAS[d.package])
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{str(out)!r} exists and is not a folder; expected a folder to export into")
    if d.kind == "forecast":
        sources = None
        names = d.files()
    else:
        sources = _ucr_files(d)
        names = [p.name for p in sources]
    targets = [out / n for n in names]
    existing = [p for p in targets if p.exists()]
    if existing and not overwrite:
        raise UsageError(f"{str(existing[0])!r} exists; pass --overwrite to replace "
                         f"{'it' if len(existing) == 1 else f'it and {len(existing) - 1} more'}")
    out.mkdir(parents=True, exist_ok=True)
    if d.kind == "forecast":
        frame = getattr(_Loaders, d.load)()
        text = frame.to_csv(index=False, na_rep="", lineterminator="\n")
        write_atomic(targets[0], text.encode("utf-8"))
    else:
        for src, dst in zip(sources, targets):
            copy_atomic(src, dst)
    return targets


# ---- sources ---------------------------------------------------------------------------
def _installed(package: str) -> bool:
    return available(package)


def _aeon_data() -> Path:
    """aeon's bundled data folder, found without importing aeon (slow, and chatty)."""
    spec = importlib.util.find_spec("aeon")
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"


def _ucr_files(d: _Classify) -> list[Path]:
    folder = _aeon_data() / d.folder
    found = [folder / n for n in d.files()]
    missing = [p.name for p in found if not p.is_file()]
    if missing:
        raise UsageError(f"dataset {d.name!r}: the installed aeon has no {', '.join(missing)} in {folder}")
    return found + [folder / f"{d.name}_{s}.tsv" for s in ("TRAIN", "TEST") if (folder / f"{d.name}_{s}.tsv").is_file()]


def _statsmodels(name: str):
    """``statsmodels.datasets.<name>.load_pandas().data``: the bundled CSV, no download."""
    return require(f"statsmodels.datasets.{name}", for_what="the statsmodels datasets").load_pandas().data


def _quarter_starts(year, quarter) -> list[str]:
    return [f"{int(y):04d}-{3 * (int(q) - 1) + 1:02d}-01" for y, q in zip(year, quarter)]


def _quarterly(name: str):
    """A statsmodels table with ``year`` and ``quarter`` columns: a ``date`` column (the
    quarter's first day) first, then the other columns, lower-cased."""
    df = _statsmodels(name)
    out = df.drop(columns=["year", "quarter"])
    out.insert(0, "date", _quarter_starts(df["year"], df["quarter"]))
    out.columns = [c.lower() for c in out.columns]
    return out


class _Loaders:
    """One data frame per forecasting dataset: the time column first, then the values."""

    @staticmethod
    def _co2():
        import pandas as pd

        df = _statsmodels("co2")                       # weekly DatetimeIndex (W-SAT), column co2
        return pd.DataFrame({"date": df.index.strftime("%Y-%m-%d"), "co2": df["co2"].to_numpy()})

    @staticmethod
    def _sunspots():
        import pandas as pd

        df = _statsmodels("sunspots")                  # YEAR, SUNACTIVITY
        return pd.DataFrame({"year": df["YEAR"].astype("int64").to_numpy(),
                             "sunactivity": df["SUNACTIVITY"].to_numpy()})

    @staticmethod
    def _nile():
        import pandas as pd

        df = _statsmodels("nile")                      # year, volume
        return pd.DataFrame({"year": df["year"].astype("int64").to_numpy(), "volume": df["volume"].to_numpy()})

    @staticmethod
    def _elnino():
        import pandas as pd

        df = _statsmodels("elnino")                    # YEAR and one column per month: (61, 13)
        months = [c for c in df.columns if c != "YEAR"]
        values = df[months].to_numpy().reshape(-1)    # (61, 12) -> (732,), year by year
        dates = [f"{int(y):04d}-{m:02d}-01" for y in df["YEAR"] for m in range(1, len(months) + 1)]
        return pd.DataFrame({"date": dates, "temperature": values})

    @staticmethod
    def _macrodata():
        return _quarterly("macrodata")                 # year, quarter, then 12 variables

    @staticmethod
    def _interest_inflation():
        return _quarterly("interest_inflation")        # year, quarter, Dp, R

    @staticmethod
    def _danish_data():
        df = _statsmodels("danish_data")               # quarterly DatetimeIndex "period"
        out = df.reset_index(drop=True)
        out.insert(0, "date", df.index.strftime("%Y-%m-%d"))
        out.columns = [c.lower() for c in out.columns]
        return out

    @staticmethod
    def _airline():
        import pandas as pd

        df = pd.read_csv(_aeon_data() / "Airline" / "Airline.csv")          # Date (YYYY-MM), Passengers
        return pd.DataFrame({"date": df["Date"] + "-01", "passengers": df["Passengers"].to_numpy()})

    @staticmethod
    def _lynx():
        import pandas as pd

        df = pd.read_csv(_aeon_data() / "Lynx" / "Lynx.csv")                # year (unnamed), 0
        return pd.DataFrame({"year": df.iloc[:, 0].astype("int64").to_numpy(), "lynx": df.iloc[:, 1].to_numpy()})

    @staticmethod
    def _uschange():
        import pandas as pd

        df = pd.read_csv(_aeon_data() / "Uschange" / "Uschange.csv", index_col=0, float_precision="round_trip")  # Quarter "1970 Q1", ...
        year_q = df["Quarter"].str.extract(r"^(\d{4}) Q([1-4])$")
        out = df.drop(columns=["Quarter"]).reset_index(drop=True)
        out.insert(0, "date", _quarter_starts(year_q[0], year_q[1]))
        out.columns = [c.lower() for c in out.columns]
        return out

