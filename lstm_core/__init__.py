"""LSTM Lab's library: data, model, training, evaluation and gate extraction, with no UI code."""
