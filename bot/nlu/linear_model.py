"""A small, fast text classifier: tf-idf word + character n-grams → logistic regression.

Shared by :mod:`bot.nlu.intent_classifier` and :mod:`bot.nlu.faq_selector`. Text is folded
(:func:`bot.nlu._fold.fold_german`: umlauts, ß, case, letter repeats) before both
vectorisers, so "Rücksendung", "ruecksendung" and "rucksendung" give the same features.
Training takes seconds on CPU; prediction is one sparse matrix product.

The model is saved as JSON (vocabularies, labels, settings) and ``.npy`` arrays (idf weights,
coefficients), loaded with ``allow_pickle=False``: a model file cannot execute code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from bot.nlu._fold import fold_german

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfVectorizer

# Words, and symbols such as emoji as their own tokens; common punctuation is dropped.
_TOKENS = re.compile(r"\w+|[^\w\s.,;:!?¿¡\"'()\[\]{}«»„“”‚‘’…-]", re.UNICODE)


_WORD = r"\S+"


def fold_text(text: str) -> str:
    """The text as the vectorisers see it: folded tokens separated by single spaces."""
    return " ".join(fold_german(token) for token in _TOKENS.findall(text))


@dataclass(frozen=True)
class ModelSettings:
    """Hyper-parameters; chosen on the development split (docs/nlu-evaluation.md)."""

    word_ngrams: Tuple[int, int] = (1, 1)
    char_ngrams: Tuple[int, int] = (2, 5)
    c: float = 50.0  # inverse regularisation strength of the logistic regression
    class_weight: Optional[str] = "balanced"
    max_iter: int = 3000
    random_seed: int = 42

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "ModelSettings":
        default = cls()
        weight = config.get("class_weight", default.class_weight)
        return cls(
            word_ngrams=_pair(config.get("word_ngrams"), default.word_ngrams),
            char_ngrams=_pair(config.get("char_ngrams"), default.char_ngrams),
            c=float(config.get("C", default.c)),
            class_weight=str(weight) if weight else None,
            max_iter=int(config.get("max_iter", default.max_iter)),
            random_seed=int(config.get("random_seed", default.random_seed)),
        )


def _pair(value: Any, default: Tuple[int, int]) -> Tuple[int, int]:
    if value is None:
        return default
    low, high = (int(v) for v in value)
    return low, high


def _vectorizers(settings: ModelSettings) -> List["TfidfVectorizer"]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    common: Dict[str, Any] = {
        "preprocessor": fold_text, "sublinear_tf": True, "dtype": np.float64,
    }
    return [
        # fold_text already split the tokens: a word is whatever lies between spaces.
        TfidfVectorizer(analyzer="word", token_pattern=_WORD,
                        ngram_range=settings.word_ngrams, **common),
        TfidfVectorizer(analyzer="char_wb", ngram_range=settings.char_ngrams, **common),
    ]


class LinearTextClassifier:
    """Multinomial logistic regression over tf-idf word and character n-grams."""

    def __init__(
        self,
        settings: ModelSettings,
        vectorizers: Optional[List["TfidfVectorizer"]] = None,
        labels: Optional[List[str]] = None,
        coef: Optional[np.ndarray] = None,
        intercept: Optional[np.ndarray] = None,
    ) -> None:
        self.settings = settings
        self.vectorizers = vectorizers or []
        self.labels: List[str] = labels or []
        self.coef = coef
        self.intercept = intercept

    @property
    def trained(self) -> bool:
        return bool(self.labels)

    def _features(self, texts: Sequence[str]) -> "csr_matrix":
        from scipy.sparse import hstack

        return hstack([v.transform(texts) for v in self.vectorizers]).tocsr()

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> "LinearTextClassifier":
        """Train on ``texts`` with one label each (deterministic for the same data)."""
        from scipy.sparse import hstack
        from sklearn.linear_model import LogisticRegression

        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        self.labels = sorted(set(labels))
        if not self.labels:
            return self
        self.vectorizers = _vectorizers(self.settings)
        features = hstack([v.fit_transform(texts) for v in self.vectorizers]).tocsr()
        if len(self.labels) == 1:
            self.coef = np.zeros((1, features.shape[1]))
            self.intercept = np.zeros(1)
            return self
        model = LogisticRegression(
            C=self.settings.c,
            class_weight=self.settings.class_weight,
            max_iter=self.settings.max_iter,
            random_state=self.settings.random_seed,
        )
        model.fit(features, list(labels))
        if [str(c) for c in model.classes_] != self.labels:
            raise ValueError("unexpected label order from LogisticRegression")
        coef, intercept = np.asarray(model.coef_), np.asarray(model.intercept_)
        if len(self.labels) == 2:  # binary: one weight row for the second label
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-1, 1]) * intercept / 2
        self.coef, self.intercept = coef, intercept
        return self

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, one row per text, columns in the order of :attr:`labels`."""
        if not self.trained or self.coef is None or self.intercept is None:
            return np.zeros((len(texts), 0))
        scores = self._features(texts) @ self.coef.T + self.intercept
        scores = np.asarray(scores, dtype=np.float64)
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        probabilities: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
        return probabilities

    def ranking(self, text: str, length: int) -> List[Tuple[str, float]]:
        """``(label, probability)`` best first; at most ``length`` entries (0: all)."""
        if not self.trained:
            return []
        row = self.predict([text])[0]
        order = np.argsort(-row, kind="stable")
        if length > 0:
            order = order[:length]
        return [(self.labels[i], float(row[i])) for i in order]

    # --- persistence (no pickle) ---------------------------------------------------------

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "labels": self.labels,
            "settings": {
                "word_ngrams": list(self.settings.word_ngrams),
                "char_ngrams": list(self.settings.char_ngrams),
                "C": self.settings.c,
                "class_weight": self.settings.class_weight,
                "max_iter": self.settings.max_iter,
                "random_seed": self.settings.random_seed,
            },
            "vocabularies": [
                {term: int(index) for term, index in v.vocabulary_.items()}
                for v in self.vectorizers
            ],
        }
        (directory / "model.json").write_text(json.dumps(meta, ensure_ascii=False),
                                              encoding="utf-8")
        if not self.trained or self.coef is None or self.intercept is None:
            return
        # float32 halves the model file; the probabilities differ by < 1e-6.
        np.save(directory / "coef.npy", self.coef.astype(np.float32), allow_pickle=False)
        np.save(directory / "intercept.npy", self.intercept.astype(np.float32),
                allow_pickle=False)
        for number, vectorizer in enumerate(self.vectorizers):
            np.save(directory / f"idf_{number}.npy", vectorizer.idf_, allow_pickle=False)

    @classmethod
    def load(cls, directory: Path) -> "LinearTextClassifier":
        meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
        settings = ModelSettings.from_config(dict(meta["settings"]))
        labels = [str(label) for label in meta["labels"]]
        if not labels:
            return cls(settings)
        vectorizers = _vectorizers(settings)
        for number, (vectorizer, vocabulary) in enumerate(
            zip(vectorizers, meta["vocabularies"], strict=True)
        ):
            vectorizer.vocabulary_ = {str(k): int(v) for k, v in vocabulary.items()}
            vectorizer.fixed_vocabulary_ = True
            vectorizer.idf_ = np.load(directory / f"idf_{number}.npy", allow_pickle=False)
        coef = np.load(directory / "coef.npy", allow_pickle=False).astype(np.float64)
        intercept = np.load(directory / "intercept.npy", allow_pickle=False).astype(np.float64)
        return cls(settings, vectorizers, labels, coef, intercept)
