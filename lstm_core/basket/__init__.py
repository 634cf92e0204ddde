"""Many series, one model: a basket of price series cut at one calendar, one network trained on all of them pooled,
and each series judged against its own baselines beside a panel judgement over the basket.

``data`` owns the basket (its series, the one calendar, the check that it is one dataset); ``run`` trains the pooled
network and the pooled linear model on the same inputs, and scores them per series and as a panel.
"""
