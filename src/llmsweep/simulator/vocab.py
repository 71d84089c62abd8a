"""Generated answer text whose token count is known exactly.

Every word below, with its leading space, is exactly one token in both ``cl100k_base`` and
``o200k_base``, and both tokenizers split text before each space-prefixed lowercase word, so a
text of N such words is N tokens: ``completion_tokens`` is the true count of the content.
"""

from __future__ import annotations

import random

_WORD_TEXT = """
    the of and to in is that for it as was with be by on not he this are or his from at which
    but have an they you were their one all we can her has there been if more when will would
    who so no she other its may these about than into them only some time could new two then do
    any like my now over such our man me even most made after also did many before must through
    back years where much your way well down should because each just those people how too
    little state good very make world still own see men work long get here between both life
    being under never day same another know while last might us great old year off come since
    against go came right used take three states himself few house use during without again
    place around however home small found thought went say part once general high upon school
    every does got united left number course war until always away something fact though water
    less public put think almost hand enough far took head yet government system better set
    told nothing night end why called find going look asked later knew point next program city
    business give group toward young days let room president side social given present several
    order national second possible rather per face among form important often things looked
    early white case become large big need four within felt along children saw best ever least
    power development light thing seemed family interest want members others mind country area
    done turned although open service certain kind problem began different door thus help sense
    means whole matter perhaps itself times law human line above name example action company
    hands local show whether five history gave today either act feet across taken past quite
    anything having seen death experience body word half really week field car words already
    themselves information tell together college shall money period held keep sure free seems
    real probably behind clear question data model answer result value simple short plan study
    report market price level
    """
WORDS: tuple[str, ...] = tuple(f" {word}" for word in _WORD_TEXT.split())

_STREAM_WORDS = 4096  # long enough that answers do not visibly repeat


class TextSource:
    """A fixed pseudo-random word stream; an answer is a run of it from a drawn offset.

    Slicing one precomputed stream keeps text generation to a single draw per request.
    """

    __slots__ = ("_doubled",)

    def __init__(self, rng: random.Random) -> None:
        stream = rng.choices(WORDS, k=_STREAM_WORDS)
        self._doubled = stream + stream  # any run up to the stream's length is one slice

    @property
    def period(self) -> int:
        return _STREAM_WORDS

    def words(self, offset: int, count: int) -> list[str]:
        """``count`` tokens starting at ``offset`` (in [0, period)) of the stream."""
        start = offset % _STREAM_WORDS
        if count <= _STREAM_WORDS:
            return self._doubled[start : start + count]
        whole, rest = divmod(count, _STREAM_WORDS)
        run = self._doubled[start : start + _STREAM_WORDS]
        return run * whole + run[:rest]
