"""Strings of the Train page, the trainer's and the saved runs' errors."""

EN: dict[str, str] = {
    "err_cfg_choice": "Setting '{name}' cannot be '{value}': choose one of {choices}.",
    "err_cfg_range": "Setting '{name}' is {value}; it must be between {low} and {high}.",
    "err_cfg_no_features": "Choose at least one input feature.",
    "err_cfg_no_test": "Train ({train}) and validation ({val}) fractions leave no test period: lower one of them.",
}

ZH: dict[str, str] = {
    "err_cfg_choice": "设置“{name}”不能为“{value}”：请从 {choices} 中选择。",
    "err_cfg_range": "设置“{name}”为 {value}；它必须在 {low} 到 {high} 之间。",
    "err_cfg_no_features": "请至少选择一个输入特征。",
    "err_cfg_no_test": "训练比例（{train}）和验证比例（{val}）没有给测试期留下数据：请调低其中一个。",
}
