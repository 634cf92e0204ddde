"""Strings of the Forecast page and the forecast / backtest commands."""

EN = {
    "nav_forecast": "Forecast",
    "nav_forecast_help": "Forecast the next days past the data with calibrated 80 % and 95 % intervals, and check their coverage.",
    "err_forecast_levels": "Interval levels must be whole percentages from 1 to 99, separated by commas (got '{value}'), e.g. 80,95.",
    "err_forecast_steps": "Steps must be from 1 to {trained}, as many as this run forecasts (got {steps}).",
}

ZH = {
    "nav_forecast": "预测",
    "nav_forecast_help": "预测数据之后的若干天，给出校准的 80 % 与 95 % 区间，并检验其覆盖率。",
    "err_forecast_levels": "区间水平必须是 1 到 99 的整数百分比，用逗号分隔（收到“{value}”），例如 80,95。",
    "err_forecast_steps": "步数必须在 1 到 {trained} 之间，即此次运行预测的步数（收到 {steps}）。",
}
