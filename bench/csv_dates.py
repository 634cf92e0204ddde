"""How long a visitor's CSV takes to read when its dates change format halfway (ISO, then dd.mm.yyyy): prints seconds.

    python bench/csv_dates.py [--mb 5] [--repeats 3] [--smoke] [--json out.json]

The reported case: a 5 MB file like this took 79 s in the page's script thread (pandas' element-by-element parser);
the target is under 5 s. Also checks that every date was read as written (none read month first).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common, however this file is loaded

from common import CommandLine, median_timed, report  # noqa: E402

from lstm_core.data import load_csv  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    mb: float = 5.0  # the file's size
    repeats: int = 3


FULL, SMOKE = Sizes(), Sizes(mb=0.05, repeats=1)  # --smoke: about 1,000 rows


def mixed_dates_csv(megabytes: float) -> tuple[bytes, pd.DatetimeIndex]:
    """OHLCV rows, the first half dated 2001-02-03 and the rest 03.02.2001, of about ``megabytes``; and the dates."""
    n = int(megabytes * 2**20 / 53)  # about 53 bytes a row
    dates = pd.bdate_range("1800-01-01", periods=n)
    text = np.concatenate([dates[: n // 2].strftime("%Y-%m-%d"), dates[n // 2 :].strftime("%d.%m.%Y")])
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    frame = pd.DataFrame({"Date": text, "Open": close * 0.99, "High": close * 1.01, "Low": close * 0.98,
                          "Close": close, "Volume": rng.integers(100_000, 10_000_000, n)})
    return frame.to_csv(index=False, float_format="%.4f").encode(), dates


def measure(sizes: Sizes = FULL) -> dict:
    content, dates = mixed_dates_csv(sizes.mb)
    seconds, loaded = median_timed(lambda: load_csv(content, "mixed.csv"), sizes.repeats)
    wrong = int((~loaded.frame.index.isin(dates)).sum())
    return {"mb": round(len(content) / 2**20, 2), "rows": len(dates), "seconds_median": round(seconds, 3),
            "rows_read": len(loaded.frame), "dates_misread": wrong}


def main() -> None:
    args, sizes = CommandLine(__doc__, FULL, SMOKE).parse()
    report(measure(sizes), args.json)


if __name__ == "__main__":
    main()
