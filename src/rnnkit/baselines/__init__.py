"""rnnkit.baselines: models without recurrence that a sequence model has to beat."""

from .bow import BagOfWords
from .ngram import NGramLM
from .series import WindowClassifier, WindowRegression, naive_forecast, seasonal_naive_forecast
from .tagging import WindowTagger
from .word_tags import MostFrequentTag

__all__ = ["BagOfWords", "MostFrequentTag", "NGramLM", "WindowClassifier", "WindowRegression", "WindowTagger",
           "naive_forecast", "seasonal_naive_forecast"]
