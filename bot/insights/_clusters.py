"""Grouping unanswered messages: tf-idf over character n-grams, greedy cosine grouping."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

SIMILARITY = 0.25
EXAMPLES = 3


@dataclass
class Cluster:
    size: int
    examples: List[str] = field(default_factory=list)  # distinct, masked


def cluster(texts: List[str], top: int = 5) -> List[Cluster]:
    """The ``top`` largest groups of similar messages (each text joins the first group whose
    first member is similar enough, else starts a new one)."""
    texts = [t for t in texts if t.strip()]
    if not texts:
        return []
    if len(texts) == 1:
        return [Cluster(1, texts[:1])]
    matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=True,
                             sublinear_tf=True).fit_transform(texts)
    similarity = cosine_similarity(matrix)
    leaders: List[int] = []
    members: List[List[int]] = []
    for index in range(len(texts)):
        for number, leader in enumerate(leaders):
            if similarity[index, leader] >= SIMILARITY:
                members[number].append(index)
                break
        else:
            leaders.append(index)
            members.append([index])
    groups = sorted(members, key=len, reverse=True)[:top]
    result = []
    for group in groups:
        distinct: List[str] = []
        for index in group:
            if texts[index] not in distinct:
                distinct.append(texts[index])
        result.append(Cluster(len(group), distinct[:EXAMPLES]))
    return result


__all__ = ["Cluster", "cluster"]
