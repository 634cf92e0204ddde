"""Strings of the Learn page: the lesson (with its LaTeX), the calculator, the gradient demo, the FAQ and the errors."""

# LaTeX is the same in both languages. Strings that contain LaTeX braces take no format parameters
# (t() formats only when parameters are given), so their braces never need doubling.

_EQUATIONS = r"""$$
\begin{aligned}
i_t &= \sigma\left(W_{xi}\,x_t + W_{hi}\,h_{t-1} + b_i\right) \\
f_t &= \sigma\left(W_{xf}\,x_t + W_{hf}\,h_{t-1} + b_f\right) \\
g_t &= \tanh\left(W_{xg}\,x_t + W_{hg}\,h_{t-1} + b_g\right) \\
o_t &= \sigma\left(W_{xo}\,x_t + W_{ho}\,h_{t-1} + b_o\right) \\
c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
h_t &= o_t \odot \tanh\left(c_t\right)
\end{aligned}
$$"""

_RNN_GRADIENT = r"""$$
h_t = \tanh\left(W_x\,x_t + W_h\,h_{t-1} + b\right),
\qquad
\frac{\partial h_T}{\partial h_t} = \prod_{k=t+1}^{T} \operatorname{diag}\left(1 - h_k^{2}\right) W_h
$$"""

_CELL_PATH = r"""$$
c_t = f_t \odot c_{t-1} + i_t \odot g_t
\quad\Rightarrow\quad
\frac{\partial c_T}{\partial c_t} \approx \operatorname{diag}\left(f_{t+1} \odot f_{t+2} \odot \cdots \odot f_T\right)
$$"""

_PYTORCH_STACK = r"""$$
W_{ih} = \begin{bmatrix} W_{xi} \\ W_{xf} \\ W_{xg} \\ W_{xo} \end{bmatrix} \in \mathbb{R}^{4H \times I},
\quad
W_{hh} = \begin{bmatrix} W_{hi} \\ W_{hf} \\ W_{hg} \\ W_{ho} \end{bmatrix} \in \mathbb{R}^{4H \times H},
\quad
b = b_{ih} + b_{hh} \in \mathbb{R}^{4H}
$$"""

EN: dict[str, str] = {
    "learn_title": "Learn: how an LSTM works",
    "learn_caption": "The equations written correctly, every number checkable, and a live look at why the gates matter.",
    "learn_tab_lesson": "Lesson",
    "learn_tab_calculator": "Step-by-step calculator",
    "learn_tab_gradients": "Why gates help",
    "learn_tab_faq": "FAQ",
    "learn_tab_mistakes": "Common mistakes",
    # lesson
    "learn_rnn_title": "Why a plain RNN forgets",
    "learn_rnn_body": r"""A recurrent network reads a sequence one step at a time and carries a hidden state $h_t$ from
step to step. Training it means sending the error at the last step back through every earlier step
(backpropagation through time). For a plain (tanh) RNN that backward signal is a product of one Jacobian per step:
"""
    + _RNN_GRADIENT
    + r"""
Each factor multiplies by $W_h$ and by $1 - h_k^2 \le 1$, the slope of tanh. When the factors shrink vectors, say by
0.6 per step, the product after 50 steps is $0.6^{50} \approx 8 \times 10^{-12}$: the **vanishing gradient**. An
input 50 steps back then has no measurable effect on the weight updates, so the network cannot learn to use it.
When the factors stretch vectors, the product grows just as fast: the **exploding gradient**, which shows up as
sudden jumps or NaN in the loss. Clipping the gradient norm tames explosions; nothing that simple cures vanishing,
which is what the LSTM was designed for.""",
    "learn_cell_title": "The cell and its three gates",
    "learn_cell_body": r"""An LSTM keeps a second state next to $h_t$: the **cell state** $c_t$, a memory that is changed
only by elementwise scaling and addition. Three **gates**, vectors of numbers between 0 and 1 made by a sigmoid,
decide what happens to it at every step, and a **candidate** proposes new content:

- **Forget gate** $f_t$: how much of each entry of the old memory $c_{t-1}$ to keep (1 keeps it all, 0 erases it).
- **Input gate** $i_t$: how much of the candidate to write into the memory.
- **Candidate** $g_t$: the new content on offer, between −1 and 1 (a tanh, not a gate).
- **Output gate** $o_t$: how much of the squashed memory $\tanh(c_t)$ to show as the hidden state $h_t$,
  which is both the step's output and the input to the next step.

All four read the same two things: the current input $x_t$ and the previous hidden state $h_{t-1}$.""",
    "learn_cell_why": r"""Why this helps: follow the memory alone (leaving aside the paths through $h$) and the only factor
from one step to the next is the forget gate,
"""
    + _CELL_PATH
    + r"""
with no weight matrix and no tanh slope. When the network holds $f \approx 1$, the error signal (and the memory)
crosses many steps almost intact; when it sets $f \approx 0$ it deliberately forgets. The 1997 LSTM of Hochreiter and
Schmidhuber had no forget gate (the memory was always kept, the "constant error carousel"); Gers, Schmidhuber and
Cummins added it in 2000 so the cell can also reset itself.""",
    "learn_eq_title": "The equations, with every shape",
    "learn_eq_intro": r"""One step $t$ of one layer, for input size $I$ and hidden size $H$. Each gate has its **own** weights
and bias, and the cell update uses the forget gate **of the same step**, $f_t$:""",
    "learn_eq_body": _EQUATIONS,
    "learn_eq_symbols": r"""| Symbol | Meaning | Shape |
| --- | --- | --- |
| $x_t$ | input at step $t$: one value per input feature | $I$ |
| $h_{t-1}$ | previous hidden state (the previous step's output) | $H$ |
| $c_{t-1}$ | previous cell state (the memory) | $H$ |
| $W_{xi}, W_{xf}, W_{xg}, W_{xo}$ | input weights of the input gate, forget gate, candidate, output gate | $H \times I$ each |
| $W_{hi}, W_{hf}, W_{hg}, W_{ho}$ | recurrent weights of the same four | $H \times H$ each |
| $b_i, b_f, b_g, b_o$ | biases of the same four | $H$ each |
| $i_t, f_t, o_t$ | input, forget and output gates, each entry in $(0, 1)$ | $H$ |
| $g_t$ | candidate memory content, each entry in $(-1, 1)$ | $H$ |
| $c_t, h_t$ | new cell state and new hidden state | $H$ |
| $\sigma(z)$ | logistic sigmoid $1 / (1 + e^{-z})$, applied entry by entry | as its input |
| $\odot$ | elementwise (Hadamard) product | as its operands |""",
    "learn_eq_pytorch": r"""**In PyTorch** (`nn.LSTM`, `nn.LSTMCell`) the four gates are stacked row-wise in the order
**i, f, g, o**, and there are two bias vectors that are simply added:
"""
    + _PYTORCH_STACK
    + r"""
With a batch of $B$ sequences the inputs are rows, so the code computes $x_t W_{ih}^\top$ with $x_t$ of shape
$B \times I$: the same arithmetic, transposed.""",
    "learn_algo_title": "The algorithm, step by step",
    "learn_algo_body": r"""1. **Start**: set $h_0$ and $c_0$, usually to zero vectors of length $H$.
2. **Pre-activations**: for the step's input $x_t$, compute $z = W_x x_t + W_h h_{t-1} + b$ for all four blocks at
   once (one matrix product giving $4H$ numbers) and split it into $z_i, z_f, z_g, z_o$.
3. **Gates**: $i_t = \sigma(z_i)$, $f_t = \sigma(z_f)$, $o_t = \sigma(z_o)$, and the candidate $g_t = \tanh(z_g)$.
4. **Memory**: $c_t = f_t \odot c_{t-1} + i_t \odot g_t$.
5. **Output**: $h_t = o_t \odot \tanh(c_t)$.
6. **Next step**: pass $h_t$ and $c_t$ on and repeat from 2 until the sequence ends. In a stacked LSTM the sequence
   $h_1, \dots, h_T$ is the input of the next layer.
7. **Predict**: a forecaster like the one on the Train page feeds the last hidden state $h_T$ to a linear layer.
8. **Learn**: compare the prediction with the target, backpropagate through all the steps and update every $W$ and
   $b$; the calculator tab runs steps 1 to 6 with numbers.""",
    "learn_costs_title": "Strengths and costs",
    "learn_costs_body": r"""**Strengths**

- It learns dependencies tens to hundreds of steps long, where a plain RNN's gradient has long since vanished.
- It reads a stream one step at a time with a fixed-size state, so sequences may have any length.
- Its gates are numbers between 0 and 1 that you can inspect (the Gates page plays them).
- For short, low-dimensional series it is small and trains on modest data.

**Costs**

- **Parameters**: $4 \cdot H \cdot (I + H + 1)$ per layer (for layers after the first, $I = H$), four times a plain
  RNN's $H \cdot (I + H + 1)$ and a third more than a GRU's $3 \cdot H \cdot (I + H + 1)$. For the Train page's
  default model ($I$ = {inputs}, $H$ = {hidden}, one layer): LSTM {lstm:,}, GRU {gru:,}, plain RNN {rnn:,}.
  PyTorch stores {lstm_torch:,} for that LSTM, because it keeps two bias vectors: $4 \cdot H \cdot (I + H + 2)$.
- **Sequential compute**: step $t$ needs $h_{{t-1}}$, so the steps of one sequence cannot run in parallel the way a
  Transformer's attention does; long sequences train slowly.
- **Finite memory**: dependencies over thousands of steps still fade.
- **Easy to overfit**: on noisy prices an LSTM often does no better than repeating today's price, which is why this
  app always scores it against that baseline.""",
    "learn_uses_title": "Where LSTMs are used",
    "learn_uses_body": r"""- **Speech recognition**: LSTM acoustic models ran large commercial recognisers in the mid-2010s.
- **Handwriting recognition**: bidirectional LSTMs read pen strokes and scanned lines of text.
- **Machine translation**: sequence-to-sequence LSTMs (2014) and Google's neural translation system (2016), until
  Transformers took over from 2017. GPT and today's large language models are Transformers, not LSTMs.
- **Time series**: demand and energy-load forecasting, sensor data, anomaly detection, and prices, as here; the
  honest benchmark is always a naive forecast.
- **Small and streaming models**: on-device keyboards and controllers, where a fixed-size state is convenient.""",
    # links to the control that demonstrates a point; page and control names come from their own pages' keys
    "learn_link": "{page} page → {control}: {why}",
    "learn_list_sep": ", ",
    "learn_why_clip": "the cure for exploding gradients",
    "learn_why_gates": "watch a trained model's gates over a real input window",
    "learn_why_seed": "rerun the same settings with another seed",
    "learn_why_cell": "LSTM or GRU",
    "learn_why_features": "add volume or open/high/low next to the close",
    "learn_why_general": "stop early, regularise, or shrink the model",
    "learn_why_data": "load a longer history or another ticker",
    # calculator
    "learn_calc_intro": r"""One LSTM cell run over a short sequence, with every intermediate value shown. The defaults are the
source article's example made consistent: $x = 1, 2, 3, 4, 5$ (input size 1), hidden size 2, and for all four gates
$W_x = \begin{bmatrix} 0.1 \\ 0.3 \end{bmatrix}$, $W_h = \begin{bmatrix} 0.5 & 0.6 \\ 0.7 & 0.8 \end{bmatrix}$,
$b = \begin{bmatrix} 0.1 \\ 0.2 \end{bmatrix}$, $h_0 = c_0 = 0$. Edit any cell; everything below updates.""",
    "learn_input_size": "Input size I",
    "learn_hidden_size": "Hidden size H",
    "learn_reset": "Reset to the example",
    "learn_sequence": "Input sequence: one row per step",
    "learn_sequence_help": "Add or delete rows to change the length (up to {limit} steps). Empty rows are ignored.",
    "learn_state0": "Initial state",
    "learn_weights": "Weights and biases",
    "learn_weights_caption": r"""Row $k$ is hidden unit $k$. Columns x1… hold that row of $W_x$ ($H \times I$), columns h1… the
row of $W_h$ ($H \times H$), and b the bias.""",
    "learn_gate_i": "Input gate i",
    "learn_gate_f": "Forget gate f",
    "learn_gate_g": "Candidate g",
    "learn_gate_o": "Output gate o",
    "learn_table_alt": "Editable weights and bias of one gate",
    "learn_torch_title": "Check against PyTorch",
    "learn_torch_match": "Matches PyTorch: torch.nn.LSTMCell loaded with these weights gives the same h and c at every step (largest difference {diff}).",
    "learn_torch_mismatch": "Does not match PyTorch: the largest difference is {diff}.",
    "learn_torch_note": "Loaded as weight_ih = rows of W_x in the order i, f, g, o (4H × I), weight_hh likewise (4H × H), bias_ih = b and bias_hh = 0: PyTorch adds its two biases, so only their sum matters.",
    "learn_torch_alt": "h and c of every step from this page next to PyTorch's",
    "learn_worked_title": "Worked by hand",
    "learn_worked_step": "Step t",
    "learn_worked_unit": "Hidden unit k",
    "learn_all_values": "Every value, step by step",
    "learn_all_values_caption": r"""$z_i, z_f, z_g, z_o$ are the pre-activations $W_x x_t + W_h h_{t-1} + b$ of each block;
$i, f, o$ are their sigmoids, $g$ the tanh of $z_g$; then $c$ and $h$. Shown to 4 decimals.""",
    "learn_all_values_alt": "Pre-activations, gates, cell state and hidden state of every step",
    "learn_col_step": "Step t",
    "learn_col_quantity": "Quantity",
    "learn_unit": "Unit {k}",
    "learn_chart_gates": "Gates i, f, o and candidate g",
    "learn_chart_states": "Cell state c and hidden state h",
    "learn_chart_step": "Step t",
    "learn_chart_alt": "Gates and states of one hidden unit over the steps",
    # gradients
    "learn_grad_intro": r"""Nothing is trained here. A plain tanh RNN, an LSTM and a GRU of the same hidden size get random
weights (PyTorch's default initialisation, seeded) and read the same random sequence of 100 steps. Autograd then
measures how strongly the last hidden state depends on each earlier input, $\lVert \partial h_T / \partial x_t \rVert$:
the signal that training would have to work with.""",
    "learn_forget_bias": "LSTM forget-gate bias",
    "learn_forget_bias_help": "The total bias b_f of the forget gate. At 1 the gate starts near σ(1) ≈ 0.73; at 0 near 0.5.",
    "learn_grad_hidden": "Hidden size",
    "learn_grad_seed": "Seed",
    "learn_grad_title": "Gradient from each earlier input to the last hidden state",
    "learn_grad_x": "Steps between the input and the last state (T − t)",
    "learn_grad_y": "‖∂h_T / ∂x_t‖ (log scale)",
    "learn_grad_alt": "Gradient norm against distance for a plain RNN, an LSTM and a GRU, on a log scale",
    "learn_grad_metric": "{steps} steps back",
    "learn_cell_rnn": "Plain RNN",
    "learn_cell_lstm": "LSTM",
    "learn_cell_gru": "GRU",
    "learn_grad_reading": r"""**How to read it.** Each curve is close to a straight line on the log scale: every step back multiplies
the gradient by about the same factor, and a factor below 1 is the vanishing gradient. What differs is the slope.
With the forget-gate bias at 1 the LSTM starts with $f \approx 0.73$ and keeps orders of magnitude more signal
from far back than the plain RNN. Move the bias to 0 and the LSTM is no
better than the plain RNN; move it to 3 or more and the memory barely fades. The untrained GRU's update gate sits
near 0.5, so it fades almost as fast as the RNN here. Training moves all of these gates: the plot shows only where
learning starts, but an input whose gradient is $10^{-12}$ cannot be learned from.""",
    # FAQ
    "learn_faq_intro": "The source article's questions, answered again; each answer names the control that shows it.",
    "learn_faq_init_q": "How should an LSTM's weights be initialised?",
    "learn_faq_init_a": r"""- PyTorch draws every weight and bias uniformly from $[-1/\sqrt{H},\ 1/\sqrt{H}]$; $h_0$ and $c_0$
  start at zero when you pass none. That is a sound default.
- Set the **forget-gate bias to about 1** (Keras does this by default). The memory and its gradient then survive
  many more steps from the first epoch: try the slider in the *Why gates help* tab.
- An orthogonal initialisation of the recurrent matrices $W_h$ is a common alternative: it neither shrinks nor
  stretches vectors at the start.
- Random initialisation makes results depend on the seed. Fix it to make a run reproducible, and compare a few seeds
  before trusting a small difference.""",
    "learn_faq_gru_q": "What is the difference between an LSTM and a GRU?",
    "learn_faq_gru_a": r"""- A **GRU** has two gates, an update gate $z_t$ and a reset gate $r_t$, and no separate cell
  state: $h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$, where $n_t$ is its candidate. One gate decides both what
  to keep and what to write, the jobs of the LSTM's forget and input gates.
- It has three weight blocks instead of four: a quarter fewer parameters and a bit less compute per step.
- Neither wins consistently in published comparisons; on small forecasting problems the difference is usually
  within the noise. Train both with the same seed and window and compare their test scores against the baseline.""",
    "learn_faq_channels_q": "How do I feed several input series (channels)?",
    "learn_faq_channels_a": r"""- At each step the channels together form one input vector: $x_t$ has one entry per channel
  (for example close, volume and log return), so the input size $I$ is the number of channels.
- `nn.LSTM(batch_first=True)` takes a tensor of shape $B \times T \times I$ (batch, time, channels). There is no
  separate channel axis; stacking channels as an extra dimension is a shape error.
- Only the input weights grow ($H \times I$ per gate); everything else stays the same.
- Scale each channel on its own, with statistics from the training period only: volumes run in millions, returns in
  hundredths. Series sampled at different rates must first be aligned on one time grid.""",
    "learn_faq_general_q": "How do I make an LSTM generalise?",
    "learn_faq_general_a": r"""- **Split by time**: train on the past, validate on the period after it, test on the last period,
  and never shuffle across those boundaries, or the future leaks into training.
- **Stop early** when the validation loss stops improving.
- **Regularise**: weight decay, dropout between stacked layers, a smaller hidden size or fewer layers.
- **More and more varied data** beats a bigger model: a longer history, other tickers. Image tricks such as
  rotation do not carry over to prices.
- **Judge honestly**: score the test period against the persistence forecast (tomorrow = today). A model that does
  not beat it has learned nothing useful, however good its chart looks.""",
    # mistakes
    "learn_mistakes_intro": "The source article contains these mistakes. Each is easy to copy, so here are the right values; the calculator reproduces every number.",
    "learn_mistakes_table": r"""| Where | The article says | What is right |
| --- | --- | --- |
| Cell update (2.1.4, 4.1.4) | $c_t = f_{t-1} \odot c_{t-1} + \dots$ | $c_t = f_t \odot c_{t-1} + i_t \odot g_t$: the forget gate of the same step |
| Candidate weights | writes the candidate with $W_{ih}$, the input gate's recurrent weights | every gate has its own $W_{x\cdot}$, $W_{h\cdot}$, $b_\cdot$; PyTorch stacks them in the order i, f, g, o |
| Worked example: shapes (4.3) | $x_t$ is a single number but $W_{ix}$ is $2 \times 2$ | with input size 1 every $W_{x\cdot}$ is $2 \times 1$, here $[0.1,\ 0.3]^\top$ |
| Worked example: step 1 | $\sigma(0.2) \approx 0.5108$, and every gate is $[0.5108, 0.5108]$ | $\sigma(0.2) \approx 0.5498$ for unit 1; unit 2 has $z = 0.3 \cdot 1 + 0.2 = 0.5$ and $\sigma(0.5) \approx 0.6225$ |
| Worked example: steps 4 and 5 | $\tanh(0.2) = 0$, so $c_1 = h_1 = 0$ | $\tanh(0.2) \approx 0.1974$; $c_1 \approx [0.1085,\ 0.2876]$ and $h_1 \approx [0.0594,\ 0.1743]$ |
| Code (5.2): samples | windows of 30 steps cut from a series of 30 steps | that yields no training samples at all; and with random inputs and all-zero targets there is nothing to learn |
| Code (5.2): activation | `LSTM(50, activation='relu')` | the LSTM's own activation is tanh; relu lets $c$ and $h$ grow without bound (run, below: cell states 5 to 30 times larger, and one seed of three worse than persistence) |
| History (1) | RNNs were proposed in 2000 | recurrent networks date from the 1980s (Jordan 1986, Elman 1990); the LSTM is Hochreiter and Schmidhuber, 1997 |
| Applications (6.3) | GPT is a variant of the LSTM | GPT is a Transformer: attention, no recurrence |
| Results (5.4) | the model "captures the trend" | without a baseline this cannot be judged: compare with persistence (tomorrow = today) |""",
    # the article's code, side by side (numbers: python bench/article.py)
    "learn_code_title": "The article's code, side by side",
    "learn_code_caption": "The article's stock example, step by step in our words, beside the same kind of model as LSTM Lab writes it: one plain PyTorch file, as every run on the Train page also downloads. Each ⚠ marks a mistake; the table below says what it changes when run.",
    "learn_code_article": "The article's example",
    "learn_code_steps": """1. Makes 30 random numbers as its "prices", and a target of 30 zeros.
   ⚠ **A target that is always 0**: the rule "always say 0" is already perfect, so a perfect fit shows nothing.
2. Cuts windows of 30 steps from those 30 numbers, each to predict the step after it.
   ⚠ **No window at all**: 30 − 30 = 0 samples, nothing to train on.
3. One LSTM layer of 50 units with `activation='relu'`, then one dense output.
   ⚠ **relu instead of tanh**: the candidate and the cell's output are no longer bounded, so the cell state can grow without limit.
4. Adam on the squared error for 200 epochs, with no validation period and no early stopping.
5. Predicts the very windows it trained on and plots them over the truth, saying the model follows the trend.
   ⚠ **No held-out period, no baseline**: a curve that hugs the truth may be yesterday's value moved on by a day.""",
    "learn_code_ours": "The same model, as LSTM Lab writes it (PyTorch)",
    "learn_code_what": "the article's model made right",
    "learn_code_ours_caption": "Real prices from data.csv; windows cut from a long series, split in time order (step 2); nn.LSTM with its own tanh (step 3); early stopping on a validation period (step 4); a test period the network never trained on (step 5), on which the app sets it beside persistence and the other baselines. Train a model and download its own script on the Train page: run in its folder, it prints the app's test RMSE.",
    "learn_code_measured_title": "What each mistake changes, run",
    "learn_code_measured": r"""| Mistake | Run as the article has it | Measured |
| --- | --- | --- |
| Windows as long as the series | a 30-step series cut into 30-step windows | 0 samples; LSTM Lab refuses such a split with a sentence |
| A target of zeros | the same network on 970 windows of random numbers, every target 0 | after 30 epochs its squared error is 0.0011; always saying 0 scores 0 without any training |
| `activation='relu'` | the same network on MSFT's daily close (the last 2,500 days, the next day's price, 3 seeds), with tanh and with relu | the largest cell state: 5.6 to 10.5 with tanh, 43 to 279 with relu; one relu seed of three ended significantly worse than persistence (test RMSE 0.666 against 0.646, p < 0.001), every tanh seed at or below it (0.643 to 0.646); none diverged in 30 epochs |
| No held-out period, no baseline | the tanh network scored on the windows it trained on, then on the test period | its RMSE is 99.9 % of persistence's on its own training windows and 99.4 % on the test period (p = 0.007, 0.010 and 0.58 by seed): the curve follows the trend because it says about what yesterday said |""",
    "learn_code_measured_caption": "Measured with `python bench/article.py` on one CPU thread: 3 seeds, at most 30 epochs with early stopping. The article's own code needs TensorFlow, so the same network is rebuilt in PyTorch with Keras's meaning of relu (in place of tanh on the candidate and on the cell's output).",
    # errors
    "err_learn_size": "{name} is {value}; the calculator takes 1 to {limit}.",
    "err_learn_shape": "{name} has shape {actual} but needs {expected}.",
    "err_learn_missing_weight": "A value in {name} is empty or not a number: fill in every cell.",
    "err_learn_missing_input": "The input at step {step} is empty or not a number: fill it in or delete the row.",
    "err_learn_empty_sequence": "The sequence is empty: add at least one step.",
    "err_learn_too_long": "The sequence has {steps} steps; the calculator shows at most {limit}. Delete some rows.",
    "err_learn_unknown_cell": "Unknown cell '{cell}': choose one of {choices}.",
    'learn_cell_task': "**See it checked, on a task whose answer is known.** The Data page's *memory task* (remember the marked value, the LSTM paper's own kind of test) gives every sequence one marked step; the answer, read at the last step, is the value found there. Trained with the task's defaults, a 4-unit LSTM takes exactly the roles above, and the Gates page measures them on the test sequences and says them in words: one unit's input gate is 1.00 at the marker and 0.003 elsewhere (it writes there and nowhere else), its forget gate stays at 0.996 until the read-out (it keeps what it wrote), and its cell carries the value (r = −0.996), as `bench/memory.py` measured. Below, such a run mid-play: the red bar is the marker, the star the model's answer.",
    'learn_cell_task_picture': "A memory-task run on the Gates page, caught mid-play: the inputs above (the value as a line, the marker as a red bar), the gates and states of each unit at the cursor's step below, the latching unit first.",
    'learn_why_task': 'load a memory task with a known answer',
    'learn_grad_trained': "**Trained for real.** The same three cells on the memory task (remember the marked value, 100 steps, 4 units each, the task's defaults), measured by `bench/memory.py`: the LSTM's test error ends at 0.03 % of always answering the mean, the GRU's at 0.04 %, while the plain RNN stays at 99.7 %, learning nothing: as the chart above shows, what arrives from tens of steps back is too small to learn from. Train them yourself: load the task on the Data page, then change the cell on the Train page.",
    'learn_cell_task_title': 'The gates at work on a memory task',
}

ZH: dict[str, str] = {
    "learn_title": "学习：LSTM 如何工作",
    "learn_caption": "公式写对，每个数字都能核对，并实时看到门控为什么重要。",
    "learn_tab_lesson": "课程",
    "learn_tab_calculator": "逐步计算器",
    "learn_tab_gradients": "门控为何有效",
    "learn_tab_faq": "常见问题",
    "learn_tab_mistakes": "常见错误",
    # lesson
    "learn_rnn_title": "普通 RNN 为什么会遗忘",
    "learn_rnn_body": r"""循环神经网络逐步读取序列，并把隐藏状态 $h_t$ 从一步传到下一步。训练它，就是把最后一步的误差沿着之前的每一步传回去（沿时间反向传播）。对于普通（tanh）RNN，这个反向信号是每一步一个雅可比矩阵的连乘：
"""
    + _RNN_GRADIENT
    + r"""
每个因子都要乘以 $W_h$ 和 tanh 的斜率 $1 - h_k^2 \le 1$。如果这些因子会把向量缩小，比如每步缩到 0.6 倍，那么
50 步之后乘积就是 $0.6^{50} \approx 8 \times 10^{-12}$：这就是**梯度消失**。50 步之前的输入对权重更新几乎毫无影响，网络也就学不会利用它。反过来，如果因子会把向量拉长，乘积会同样迅速地变大：这就是**梯度爆炸**，表现为损失突然跳变或变成 NaN。裁剪梯度范数可以抑制爆炸；梯度消失却没有这么简单的办法，LSTM 正是为解决它而设计的。""",
    "learn_cell_title": "细胞状态与三个门",
    "learn_cell_body": r"""LSTM 在 $h_t$ 之外还保留第二个状态：**细胞状态** $c_t$。这是一条记忆通道，只会被逐元素地缩放和相加。三个**门**（由 sigmoid 产生、取值在 0 到 1 之间的向量）在每一步决定如何处理这份记忆，另有一个**候选值**提供新内容：

- **遗忘门** $f_t$：旧记忆 $c_{t-1}$ 的每个分量保留多少（1 全部保留，0 全部清除）。
- **输入门** $i_t$：把多少候选值写入记忆。
- **候选值** $g_t$：准备写入的新内容，取值在 −1 到 1 之间（它是 tanh，不是门）。
- **输出门** $o_t$：把压缩后的记忆 $\tanh(c_t)$ 输出多少作为隐藏状态 $h_t$；$h_t$ 既是这一步的输出，也是下一步的输入。

四者读取的都是同样两样东西：当前输入 $x_t$ 和上一步的隐藏状态 $h_{t-1}$。""",
    "learn_cell_why": r"""为什么有效：只沿着记忆通道看（暂不考虑经过 $h$ 的路径），从一步到下一步的唯一因子就是遗忘门，
"""
    + _CELL_PATH
    + r"""
其中既没有权重矩阵，也没有 tanh 的斜率。当网络让 $f \approx 1$ 时，误差信号（以及记忆本身）几乎原样穿过许多步；当它让 $f \approx 0$ 时，就是有意地遗忘。Hochreiter 和 Schmidhuber 在 1997 年提出的 LSTM 没有遗忘门（记忆总是保留，即“恒定误差传送带”）；Gers、Schmidhuber 和 Cummins 在 2000 年加入遗忘门，让细胞也能自行重置。""",
    "learn_eq_title": "公式与每个量的形状",
    "learn_eq_intro": r"""单层在第 $t$ 步的计算，输入维度为 $I$，隐藏维度为 $H$。每个门都有**自己的**权重和偏置，细胞更新使用的是**同一步**的遗忘门 $f_t$：""",
    "learn_eq_body": _EQUATIONS,
    "learn_eq_symbols": r"""| 符号 | 含义 | 形状 |
| --- | --- | --- |
| $x_t$ | 第 $t$ 步的输入：每个输入特征一个值 | $I$ |
| $h_{t-1}$ | 上一步的隐藏状态（上一步的输出） | $H$ |
| $c_{t-1}$ | 上一步的细胞状态（记忆） | $H$ |
| $W_{xi}, W_{xf}, W_{xg}, W_{xo}$ | 输入门、遗忘门、候选值、输出门的输入权重 | 各为 $H \times I$ |
| $W_{hi}, W_{hf}, W_{hg}, W_{ho}$ | 这四者的循环权重 | 各为 $H \times H$ |
| $b_i, b_f, b_g, b_o$ | 这四者的偏置 | 各为 $H$ |
| $i_t, f_t, o_t$ | 输入门、遗忘门、输出门，每个分量在 $(0, 1)$ 之间 | $H$ |
| $g_t$ | 候选记忆内容，每个分量在 $(-1, 1)$ 之间 | $H$ |
| $c_t, h_t$ | 新的细胞状态和新的隐藏状态 | $H$ |
| $\sigma(z)$ | logistic sigmoid 函数 $1 / (1 + e^{-z})$，逐元素作用 | 与输入相同 |
| $\odot$ | 逐元素（Hadamard）乘积 | 与操作数相同 |""",
    "learn_eq_pytorch": r"""**在 PyTorch 中**（`nn.LSTM`、`nn.LSTMCell`），四个门按 **i, f, g, o** 的顺序按行堆叠，并且有两个偏置向量，二者直接相加：
"""
    + _PYTORCH_STACK
    + r"""
处理 $B$ 条序列组成的批次时，输入按行排列，所以代码计算的是 $x_t W_{ih}^\top$，其中 $x_t$ 的形状为
$B \times I$：算术完全相同，只是转置了。""",
    "learn_algo_title": "算法步骤",
    "learn_algo_body": r"""1. **初始化**：设定 $h_0$ 和 $c_0$，通常是长度为 $H$ 的零向量。
2. **预激活**：对这一步的输入 $x_t$，一次算出四个块的 $z = W_x x_t + W_h h_{t-1} + b$（一次矩阵乘法，得到
   $4H$ 个数），再拆分为 $z_i, z_f, z_g, z_o$。
3. **门**：$i_t = \sigma(z_i)$，$f_t = \sigma(z_f)$，$o_t = \sigma(z_o)$，候选值 $g_t = \tanh(z_g)$。
4. **记忆**：$c_t = f_t \odot c_{t-1} + i_t \odot g_t$。
5. **输出**：$h_t = o_t \odot \tanh(c_t)$。
6. **下一步**：把 $h_t$ 和 $c_t$ 传下去，从第 2 步重复，直到序列结束。在多层 LSTM 中，序列 $h_1, \dots, h_T$
   就是下一层的输入。
7. **预测**：像训练页面那样的预测模型，把最后的隐藏状态 $h_T$ 送入一个线性层。
8. **学习**：把预测与目标比较，沿所有步反向传播，并更新每个 $W$ 和 $b$；计算器标签页会用具体数字完成第 1 到 6 步。""",
    "learn_costs_title": "优点与代价",
    "learn_costs_body": r"""**优点**

- 能学到跨越几十到几百步的依赖，而普通 RNN 的梯度早已消失。
- 以固定大小的状态逐步读取数据流，序列可以是任意长度。
- 门是 0 到 1 之间的数，可以直接查看（门控页面会逐步播放它们）。
- 对于短的低维序列，模型小巧，适量数据即可训练。

**代价**

- **参数量**：每层 $4 \cdot H \cdot (I + H + 1)$ 个（第一层之后的各层 $I = H$），是普通 RNN 的
  $H \cdot (I + H + 1)$ 的四倍，比 GRU 的 $3 \cdot H \cdot (I + H + 1)$ 多三分之一。以训练页面的默认模型（$I$ = {inputs}，$H$ = {hidden}，一层）为例：LSTM {lstm:,} 个，GRU {gru:,} 个，普通 RNN {rnn:,} 个。
  PyTorch 为这个 LSTM 存储 {lstm_torch:,} 个参数，因为它保留两个偏置向量：$4 \cdot H \cdot (I + H + 2)$。
- **顺序计算**：第 $t$ 步需要 $h_{{t-1}}$，所以同一序列的各步无法像 Transformer 的注意力那样并行计算；长序列训练较慢。
- **记忆有限**：跨越数千步的依赖仍然会衰减。
- **容易过拟合**：在噪声很大的价格数据上，LSTM 常常并不比“重复今天的价格”更好，所以本应用总是拿它与这个基线比较。""",
    "learn_uses_title": "LSTM 用在哪里",
    "learn_uses_body": r"""- **语音识别**：2010 年代中期，大型商用识别系统使用 LSTM 声学模型。
- **手写识别**：双向 LSTM 读取笔画轨迹和扫描的文本行。
- **机器翻译**：序列到序列 LSTM（2014 年）和谷歌神经机器翻译系统（2016 年），2017 年起逐渐被 Transformer 取代。
  GPT 和如今的大语言模型都是 Transformer，而不是 LSTM。
- **时间序列**：需求和电力负荷预测、传感器数据、异常检测，以及本应用中的价格；诚实的基准永远是朴素预测。
- **小型和流式模型**：设备端的输入法和控制器等，固定大小的状态用起来很方便。""",
    # links to the control that demonstrates a point; page and control names come from their own pages' keys
    "learn_link": "{page}页面 → {control}：{why}",
    "learn_list_sep": "、",
    "learn_why_clip": "对付梯度爆炸的办法",
    "learn_why_gates": "在真实输入窗口上观察训练后模型的各个门",
    "learn_why_seed": "用另一个种子重跑相同的设置",
    "learn_why_cell": "LSTM 或 GRU",
    "learn_why_features": "在收盘价之外加入成交量或开盘价、最高价、最低价",
    "learn_why_general": "提前停止、正则化或缩小模型",
    "learn_why_data": "加载更长的历史或其他股票",
    # calculator
    "learn_calc_intro": r"""让一个 LSTM 细胞在一段短序列上运行，并显示每个中间值。默认值是原文例子修正一致后的版本：
$x = 1, 2, 3, 4, 5$（输入维度 1），隐藏维度 2，四个门都使用
$W_x = \begin{bmatrix} 0.1 \\ 0.3 \end{bmatrix}$、$W_h = \begin{bmatrix} 0.5 & 0.6 \\ 0.7 & 0.8 \end{bmatrix}$、
$b = \begin{bmatrix} 0.1 \\ 0.2 \end{bmatrix}$，$h_0 = c_0 = 0$。修改任意单元格，下面的结果都会随之更新。""",
    "learn_input_size": "输入维度 I",
    "learn_hidden_size": "隐藏维度 H",
    "learn_reset": "恢复示例",
    "learn_sequence": "输入序列：每步一行",
    "learn_sequence_help": "添加或删除行以改变长度（最多 {limit} 步）。空行会被忽略。",
    "learn_state0": "初始状态",
    "learn_weights": "权重与偏置",
    "learn_weights_caption": r"""第 $k$ 行对应第 $k$ 个隐藏单元。x1… 列是 $W_x$（$H \times I$）的这一行，h1… 列是
$W_h$（$H \times H$）的这一行，b 列是偏置。""",
    "learn_gate_i": "输入门 i",
    "learn_gate_f": "遗忘门 f",
    "learn_gate_g": "候选值 g",
    "learn_gate_o": "输出门 o",
    "learn_table_alt": "一个门的可编辑权重和偏置",
    "learn_torch_title": "与 PyTorch 核对",
    "learn_torch_match": "与 PyTorch 一致：载入这些权重的 torch.nn.LSTMCell 在每一步都给出相同的 h 和 c（最大差异 {diff}）。",
    "learn_torch_mismatch": "与 PyTorch 不一致：最大差异为 {diff}。",
    "learn_torch_note": "载入方式：weight_ih 为按 i, f, g, o 顺序堆叠的 W_x 各行（4H × I），weight_hh 同理（4H × H），bias_ih = b，bias_hh = 0：PyTorch 会把两个偏置相加，所以只有它们的和有意义。",
    "learn_torch_alt": "本页计算的每步 h 和 c 与 PyTorch 的结果并排对照",
    "learn_worked_title": "手算过程",
    "learn_worked_step": "第 t 步",
    "learn_worked_unit": "隐藏单元 k",
    "learn_all_values": "逐步列出的所有数值",
    "learn_all_values_caption": r"""$z_i, z_f, z_g, z_o$ 是各块的预激活 $W_x x_t + W_h h_{t-1} + b$；
$i, f, o$ 是它们的 sigmoid，$g$ 是 $z_g$ 的 tanh；然后是 $c$ 和 $h$。保留 4 位小数。""",
    "learn_all_values_alt": "每一步的预激活、门、细胞状态和隐藏状态",
    "learn_col_step": "第 t 步",
    "learn_col_quantity": "量",
    "learn_unit": "单元 {k}",
    "learn_chart_gates": "门 i、f、o 与候选值 g",
    "learn_chart_states": "细胞状态 c 与隐藏状态 h",
    "learn_chart_step": "第 t 步",
    "learn_chart_alt": "一个隐藏单元的门和状态随步数的变化",
    # gradients
    "learn_grad_intro": r"""这里不做任何训练。隐藏维度相同的普通 tanh RNN、LSTM 和 GRU 获得随机权重（PyTorch 的默认初始化，固定随机种子），并读取同一段 100 步的随机序列。然后用自动求导测量最后的隐藏状态对之前每个输入的依赖程度
$\lVert \partial h_T / \partial x_t \rVert$：这正是训练时能够利用的信号。""",
    "learn_forget_bias": "LSTM 遗忘门偏置",
    "learn_forget_bias_help": "遗忘门的总偏置 b_f。取 1 时门的初值约为 σ(1) ≈ 0.73；取 0 时约为 0.5。",
    "learn_grad_hidden": "隐藏维度",
    "learn_grad_seed": "随机种子",
    "learn_grad_title": "从之前每个输入传到最后隐藏状态的梯度",
    "learn_grad_x": "输入与最后状态之间相隔的步数（T − t）",
    "learn_grad_y": "‖∂h_T / ∂x_t‖（对数刻度）",
    "learn_grad_alt": "普通 RNN、LSTM 和 GRU 的梯度范数随距离的变化，对数刻度",
    "learn_grad_metric": "{steps} 步之前",
    "learn_cell_rnn": "普通 RNN",
    "learn_cell_lstm": "LSTM",
    "learn_cell_gru": "GRU",
    "learn_grad_reading": r"""**如何阅读此图。** 在对数刻度上，每条曲线都接近一条直线：每往回一步，梯度大约乘以同一个因子，因子小于 1 就是梯度消失。不同的是斜率。遗忘门偏置为 1 时，LSTM 一开始 $f \approx 0.73$，从远处保留下来的信号比普通 RNN 多出几个数量级。把偏置调到 0，
LSTM 就不比普通 RNN 好；调到 3 或更高，记忆几乎不会衰减。未训练的 GRU 的更新门约为 0.5，所以在这里它衰减得几乎和 RNN
一样快。训练会改变所有这些门：图中只显示学习的起点，但梯度只有 $10^{-12}$ 的输入是学不到的。""",
    # FAQ
    "learn_faq_intro": "原文的问题，我们重新回答；每个回答都指出能演示它的控件。",
    "learn_faq_init_q": "LSTM 的权重应该如何初始化？",
    "learn_faq_init_a": r"""- PyTorch 从 $[-1/\sqrt{H},\ 1/\sqrt{H}]$ 中均匀抽取每个权重和偏置；不传入初始状态时，$h_0$ 和 $c_0$
  从零开始。这是一个合理的默认值。
- 把**遗忘门偏置设为 1 左右**（Keras 默认如此）。这样从第一轮开始，记忆和它的梯度就能保留更多步：可以在
  *门控为何有效* 标签页中拖动滑块试试。
- 对循环矩阵 $W_h$ 使用正交初始化是常见的替代方案：一开始它既不会缩小向量，也不会拉长向量。
- 随机初始化使结果依赖于随机种子。固定种子可以让运行可复现；在相信一个小差异之前，先比较几个不同的种子。""",
    "learn_faq_gru_q": "LSTM 和 GRU 有什么区别？",
    "learn_faq_gru_a": r"""- **GRU** 有两个门：更新门 $z_t$ 和重置门 $r_t$，没有单独的细胞状态：
  $h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$，其中 $n_t$ 是它的候选值。一个门同时决定保留什么、写入什么，承担了 LSTM 中遗忘门和输入门的工作。
- 它有三个权重块而不是四个：参数少四分之一，每步的计算也略少。
- 在已发表的比较中，两者互有胜负；在小型预测问题上，差异通常在噪声范围之内。用相同的随机种子和窗口训练两者，再比较它们相对于基线的测试得分。""",
    "learn_faq_channels_q": "如何输入多个序列（多通道）？",
    "learn_faq_channels_a": r"""- 在每一步，各通道共同组成一个输入向量：$x_t$ 的每个分量对应一个通道（例如收盘价、成交量和对数收益率），所以输入维度 $I$ 就是通道数。
- `nn.LSTM(batch_first=True)` 接收形状为 $B \times T \times I$（批次、时间、通道）的张量。没有单独的通道轴；把通道堆成额外的一维是形状错误。
- 只有输入权重会变大（每个门 $H \times I$）；其余部分保持不变。
- 每个通道单独缩放，且只使用训练期的统计量：成交量以百万计，收益率只有百分之几。采样频率不同的序列，要先对齐到同一个时间网格上。""",
    "learn_faq_general_q": "如何提高 LSTM 的泛化能力？",
    "learn_faq_general_a": r"""- **按时间划分**：用过去训练，用其后的时段验证，用最后的时段测试，且绝不跨越这些边界打乱顺序，否则未来信息会泄漏到训练中。
- **提前停止**：验证损失不再改善时就停止训练。
- **正则化**：权重衰减、多层之间的 dropout、更小的隐藏维度或更少的层数。
- **更多、更多样的数据**胜过更大的模型：更长的历史、其他股票。旋转之类的图像增强方法不适用于价格。
- **诚实评估**：在测试期把模型与持续性预测（明天 = 今天）比较。无论图看起来多好，胜不过它的模型就没有学到有用的东西。""",
    # mistakes
    "learn_mistakes_intro": "原文中有以下错误。它们很容易被照抄，所以这里给出正确的值；计算器能重现其中的每个数字。",
    "learn_mistakes_table": r"""| 位置 | 原文的说法 | 正确的说法 |
| --- | --- | --- |
| 细胞更新（2.1.4、4.1.4） | $c_t = f_{t-1} \odot c_{t-1} + \dots$ | $c_t = f_t \odot c_{t-1} + i_t \odot g_t$：用的是同一步的遗忘门 |
| 候选值权重 | 候选值的公式里用的是输入门的循环权重 $W_{ih}$ | 每个门都有自己的 $W_{x\cdot}$、$W_{h\cdot}$、$b_\cdot$；PyTorch 按 i, f, g, o 的顺序堆叠 |
| 算例：形状（4.3） | $x_t$ 是一个数，$W_{ix}$ 却是 $2 \times 2$ | 输入维度为 1 时，每个 $W_{x\cdot}$ 是 $2 \times 1$，此处为 $[0.1,\ 0.3]^\top$ |
| 算例：第一步 | $\sigma(0.2) \approx 0.5108$，且所有门都是 $[0.5108, 0.5108]$ | 单元 1：$\sigma(0.2) \approx 0.5498$；单元 2：$z = 0.3 \cdot 1 + 0.2 = 0.5$，$\sigma(0.5) \approx 0.6225$ |
| 算例：第四、五步 | $\tanh(0.2) = 0$，所以 $c_1 = h_1 = 0$ | $\tanh(0.2) \approx 0.1974$；$c_1 \approx [0.1085,\ 0.2876]$，$h_1 \approx [0.0594,\ 0.1743]$ |
| 代码（5.2）：样本 | 从 30 步的序列中切出 30 步的窗口 | 这样一个训练样本也得不到；而且输入是随机数、目标全为零，本来就没有可学的东西 |
| 代码（5.2）：激活函数 | `LSTM(50, activation='relu')` | LSTM 自己的激活函数是 tanh；relu 会让 $c$ 和 $h$ 无界增长（实际运行见下文：细胞状态大 5 到 30 倍，三个种子中有一个比持续性预测更差） |
| 历史（1） | RNN 是 2000 年提出的 | 循环网络可追溯到 1980 年代（Jordan 1986、Elman 1990）；LSTM 由 Hochreiter 和 Schmidhuber 于 1997 年提出 |
| 应用（6.3） | GPT 是 LSTM 的变体 | GPT 是 Transformer：基于注意力，没有循环结构 |
| 结果（5.4） | 模型“捕捉到了趋势” | 没有基线就无法判断：要与持续性预测（明天 = 今天）比较 |""",
    # errors
    "learn_code_title": "原文的代码，并排对照",
    "learn_code_caption": "原文的股票示例，用我们自己的话逐步复述，旁边是 LSTM Lab 写出的同类模型：一个普通的 PyTorch 文件，训练页上的每次运行也都能这样下载。每个 ⚠ 标出一处错误；下表给出实际运行时它带来的变化。",
    "learn_code_article": "原文的示例",
    "learn_code_steps": """1. 用 30 个随机数当作“价格”，目标是 30 个 0。
   ⚠ **目标永远是 0**：“永远回答 0”这条规则本身就完美，所以拟合得再好也说明不了什么。
2. 从这 30 个数中切出长度为 30 的窗口，每个窗口预测其后一步。
   ⚠ **一个窗口也没有**：30 − 30 = 0 个样本，没有可以训练的数据。
3. 一层 50 个单元的 LSTM，`activation='relu'`，后接一个全连接输出。
   ⚠ **用 relu 代替 tanh**：候选值和细胞的输出不再有界，细胞状态可以无限增长。
4. 用 Adam 优化平方误差，训练 200 轮，没有验证期，也没有提前停止。
5. 预测它训练过的那些窗口，并画在真实值上，说模型跟上了趋势。
   ⚠ **没有留出期，也没有基准**：紧贴真实值的曲线，可能只是把昨天的值往后挪了一天。""",
    "learn_code_ours": "同一个模型，LSTM Lab 的写法（PyTorch）",
    "learn_code_what": "改正后的原文模型",
    "learn_code_ours_caption": "真实价格来自 data.csv；窗口从长序列中切出，并按时间顺序划分（第 2 步）；nn.LSTM 使用它自己的 tanh（第 3 步）；在验证期上提前停止（第 4 步）；在网络从未训练过的测试期上评分（第 5 步），应用会把它与持续性预测和其他基准放在一起比较。在训练页训练一个模型并下载它自己的脚本：在其文件夹中运行，它会打印与应用相同的测试 RMSE。",
    "learn_code_measured_title": "每处错误在实际运行时的影响",
    "learn_code_measured": r"""| 错误 | 按原文的方式运行 | 测得的结果 |
| --- | --- | --- |
| 窗口与序列一样长 | 把 30 步的序列切成 30 步的窗口 | 0 个样本；LSTM Lab 会用一句话拒绝这样的划分 |
| 目标全为 0 | 同一个网络，970 个随机数窗口，目标全为 0 | 训练 30 轮后平方误差为 0.0011；永远回答 0 不需任何训练就得 0 |
| `activation='relu'` | 同一个网络，MSFT 日收盘价（最近 2,500 天，预测次日价格，3 个种子），分别用 tanh 和 relu | 最大细胞状态：tanh 为 5.6 到 10.5，relu 为 43 到 279；三个 relu 种子中有一个明显差于持续性预测（测试 RMSE 0.666 对 0.646，p < 0.001），每个 tanh 种子都不差于它（0.643 到 0.646）；30 轮内都没有发散 |
| 没有留出期，也没有基准 | 先在 tanh 网络训练过的窗口上评分，再在测试期上评分 | 在它自己的训练窗口上，RMSE 是持续性预测的 99.9 %，在测试期上是 99.4 %（各种子 p = 0.007、0.010 和 0.58）：曲线跟上趋势，是因为它说的和昨天差不多 |""",
    "learn_code_measured_caption": "用 `python bench/article.py` 在单个 CPU 线程上测得：3 个种子，最多 30 轮并提前停止。原文的代码需要 TensorFlow，因此同一个网络用 PyTorch 重建，relu 取 Keras 的含义（在候选值和细胞输出上代替 tanh）。",
    "err_learn_size": "{name} 为 {value}；计算器只接受 1 到 {limit}。",
    "err_learn_shape": "{name} 的形状是 {actual}，但需要 {expected}。",
    "err_learn_missing_weight": "{name} 中有空值或非数字：请填写每个单元格。",
    "err_learn_missing_input": "第 {step} 步的输入为空或不是数字：请填写或删除该行。",
    "err_learn_empty_sequence": "序列为空：请至少添加一步。",
    "err_learn_too_long": "序列有 {steps} 步；计算器最多显示 {limit} 步。请删除一些行。",
    "err_learn_unknown_cell": "未知的单元类型“{cell}”：请从 {choices} 中选择。",
    'learn_cell_task': '**在答案已知的任务上检验这一点。**“数据”页的*记忆任务*（记住被标记的数值，正是 LSTM 论文本身使用的那类测试）在每个序列中标记一步；答案在最后一步读出，就是被标记处的数值。用任务的默认设置训练后，一个 4 单元的 LSTM 恰好承担了上面描述的角色，“门控”页在测试序列上测量这些角色并用文字说明：某个单元的输入门在标记处为 1.00、其他位置为 0.003（只在那里写入），它的遗忘门一直保持在 0.996 直到读出（保留写入的内容），它的细胞携带着这个数值（r = −0.996），这些数字由 `bench/memory.py` 测得。下图是这样一次运行播放中的截图：红色竖条是标记，星号是模型的回答。',
    'learn_cell_task_picture': '“门控”页上的一次记忆任务运行，播放中截取：上方是输入（数值为折线，标记为红色竖条），下方是光标所在步每个单元的门和状态，锁存单元排在最前。',
    'learn_why_task': '加载一个答案已知的记忆任务',
    'learn_grad_trained': '**真实训练的结果**。同样三种单元在记忆任务上（记住被标记的数值，100 步，各 4 个单元，任务的默认设置），由 `bench/memory.py` 测得：LSTM 的测试误差最终只有总是回答均值时的 0.03 %，GRU 为 0.04 %，而普通 RNN 停留在 99.7 %，什么也没学到：正如上图所示，从几十步之前传回的梯度太小，无法据此学习。自己训练试试：在“数据”页加载该任务，然后在“训练”页更换单元类型。',
    'learn_cell_task_title': '记忆任务上的门',
}
