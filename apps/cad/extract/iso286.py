# ruff: noqa: E501 - the ISO 286 tables read best one size range a line
"""ISO 286-1 limits and fits for nominal sizes up to 500 mm.

``deviations("H7", 20.0)`` gives the upper and lower deviation in millimetres
(+0.021, 0.0). Tables are in micrometres, from ISO 286-1:2010 tables 1-3 and
the hole rules of its clause 5 (A-H mirror the shafts; J-N and P-ZC take the
shaft's deviation with the Δ correction up to the grades the standard names).
Shaft letters beyond u and their holes are not tabulated here: such a fit is
reported without deviations rather than with guessed ones.
"""

from __future__ import annotations

import re
from bisect import bisect_left

MAX_SIZE = 500.0

# Upper bounds of the main size ranges ("over the previous, up to and including").
_MAIN = (3, 6, 10, 18, 30, 50, 80, 120, 180, 250, 315, 400, 500)
# Intermediate ranges, used by a, b, c, r, s, t, u.
_FINE = (
    3, 6, 10, 14, 18, 24, 30, 40, 50, 65, 80, 100, 120, 140, 160, 180, 200, 225,
    250, 280, 315, 355, 400, 450, 500,
)  # fmt: skip

# Standard tolerance grades IT1..IT18 per main range (µm).
_IT = (
    (0.8, 1.2, 2, 3, 4, 6, 10, 14, 25, 40, 60, 100, 140, 250, 400, 600, 1000, 1400),
    (1, 1.5, 2.5, 4, 5, 8, 12, 18, 30, 48, 75, 120, 180, 300, 480, 750, 1200, 1800),
    (1, 1.5, 2.5, 4, 6, 9, 15, 22, 36, 58, 90, 150, 220, 360, 580, 900, 1500, 2200),
    (1.2, 2, 3, 5, 8, 11, 18, 27, 43, 70, 110, 180, 270, 430, 700, 1100, 1800, 2700),
    (1.5, 2.5, 4, 6, 9, 13, 21, 33, 52, 84, 130, 210, 330, 520, 840, 1300, 2100, 3300),
    (1.5, 2.5, 4, 7, 11, 16, 25, 39, 62, 100, 160, 250, 390, 620, 1000, 1600, 2500, 3900),
    (2, 3, 5, 8, 13, 19, 30, 46, 74, 120, 190, 300, 460, 740, 1200, 1900, 3000, 4600),
    (2.5, 4, 6, 10, 15, 22, 35, 54, 87, 140, 220, 350, 540, 870, 1400, 2200, 3500, 5400),
    (3.5, 5, 8, 12, 18, 25, 40, 63, 100, 160, 250, 400, 630, 1000, 1600, 2500, 4000, 6300),
    (4.5, 7, 10, 14, 20, 29, 46, 72, 115, 185, 290, 460, 720, 1150, 1850, 2900, 4600, 7200),
    (6, 8, 12, 16, 23, 32, 52, 81, 130, 210, 320, 520, 810, 1300, 2100, 3200, 5200, 8100),
    (7, 9, 13, 18, 25, 36, 57, 89, 140, 230, 360, 570, 890, 1400, 2300, 3600, 5700, 8900),
    (8, 10, 15, 20, 27, 40, 63, 97, 155, 250, 400, 630, 970, 1550, 2500, 4000, 6300, 9700),
)  # fmt: skip

# Upper deviation es of shafts a-h (µm).
_ES_FINE = {
    "a": (
        -270, -270, -280, -290, -290, -300, -300, -310, -320, -340, -360, -380, -410,
        -460, -520, -580, -660, -740, -820, -920, -1050, -1200, -1350, -1500, -1650,
    ),
    "b": (
        -140, -140, -150, -150, -150, -160, -160, -170, -180, -190, -200, -220, -240,
        -260, -280, -310, -340, -380, -420, -480, -540, -600, -680, -760, -840,
    ),
    "c": (
        -60, -70, -80, -95, -95, -110, -110, -120, -130, -140, -150, -170, -180,
        -200, -210, -230, -240, -260, -280, -300, -330, -360, -400, -440, -480,
    ),
}  # fmt: skip
_ES_MAIN = {
    "d": (-20, -30, -40, -50, -65, -80, -100, -120, -145, -170, -190, -210, -230),
    "e": (-14, -20, -25, -32, -40, -50, -60, -72, -85, -100, -110, -125, -135),
    "f": (-6, -10, -13, -16, -20, -25, -30, -36, -43, -50, -56, -62, -68),
    "g": (-2, -4, -5, -6, -7, -9, -10, -12, -14, -15, -17, -18, -20),
    "h": (0,) * 13,
}
# Lower deviation ei of shafts k-u (µm).
_EI_MAIN = {
    "m": (2, 4, 6, 7, 8, 9, 11, 13, 15, 17, 20, 21, 23),
    "n": (4, 8, 10, 12, 15, 17, 20, 23, 27, 31, 34, 37, 40),
    "p": (6, 12, 15, 18, 22, 26, 32, 37, 43, 50, 56, 62, 68),
}
_EI_FINE = {
    "r": (
        10, 15, 19, 23, 23, 28, 28, 34, 34, 41, 43, 51, 54, 63, 65, 68, 77, 80, 84,
        94, 98, 108, 114, 126, 132,
    ),
    "s": (
        14, 19, 23, 28, 28, 35, 35, 43, 43, 53, 59, 71, 79, 92, 100, 108, 122, 130,
        140, 158, 170, 190, 208, 232, 252,
    ),
    "t": (
        None, None, None, None, None, None, 41, 48, 54, 66, 75, 91, 104, 122, 134,
        146, 166, 180, 196, 218, 240, 268, 294, 330, 360,
    ),
    "u": (
        18, 23, 28, 33, 33, 41, 48, 60, 70, 87, 102, 124, 144, 170, 190, 210, 236,
        258, 284, 315, 350, 390, 435, 490, 540,
    ),
}  # fmt: skip
_K_EI = (0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 4, 5)  # k4..k7
# j5/j6 and j7 lower deviations (µm).
_J_EI = {
    5: (-2, -2, -2, -3, -4, -5, -7, -9, -11, -13, -16, -18, -20),
    6: (-2, -2, -2, -3, -4, -5, -7, -9, -11, -13, -16, -18, -20),
    7: (-4, -4, -5, -6, -8, -10, -12, -15, -18, -21, -26, -28, -32),
}
# Upper deviations ES of holes J6, J7, J8 (µm).
_J_ES = {
    6: (2, 5, 5, 6, 8, 10, 13, 16, 18, 22, 25, 29, 33),
    7: (4, 6, 8, 10, 12, 14, 18, 22, 26, 30, 36, 39, 43),
    8: (6, 10, 12, 15, 20, 24, 28, 34, 41, 47, 55, 60, 66),
}
# Δ for holes K-ZC, grades IT3..IT8 (µm).
_DELTA = (
    (0, 0, 0, 0, 0, 0),
    (1, 1.5, 1, 3, 4, 6),
    (1, 1.5, 2, 3, 6, 7),
    (1, 2, 3, 3, 7, 9),
    (1.5, 2, 3, 4, 8, 12),
    (1.5, 3, 4, 5, 9, 14),
    (2, 3, 5, 6, 11, 16),
    (2, 4, 5, 7, 13, 19),
    (3, 4, 6, 7, 15, 23),
    (3, 4, 6, 9, 17, 26),
    (4, 4, 7, 9, 20, 29),
    (4, 5, 7, 11, 21, 32),
    (5, 5, 7, 13, 23, 34),
)

CLASS = re.compile(r"^(?P<letter>[A-Za-z]{1,2})(?P<grade>\d{1,2})$")


def _index(bounds: tuple[int, ...], size: float) -> int:
    return bisect_left(bounds, size)


def it_grade(grade: int, size: float) -> float:
    """Standard tolerance ITgrade in µm for a nominal size."""
    return float(_IT[_index(_MAIN, size)][grade - 1])


def _shaft(letter: str, grade: int, size: float) -> tuple[float, float] | None:
    """(es, ei) of a shaft in µm, or None where not tabulated."""
    m, f = _index(_MAIN, size), _index(_FINE, size)
    it = it_grade(grade, size)
    if letter in _ES_FINE:
        es = float(_ES_FINE[letter][f])
        return es, es - it
    if letter in _ES_MAIN:
        es = float(_ES_MAIN[letter][m])
        return es, es - it
    if letter == "js":
        half = it / 2
        if 7 <= grade <= 11 and it % 2 == 1:
            half = (it - 1) / 2
        return half, -half
    if letter == "j":
        if grade not in _J_EI:
            return None
        ei = float(_J_EI[grade][m])
        return ei + it, ei
    if letter == "k":
        ei = float(_K_EI[m]) if 4 <= grade <= 7 and size > 3 else 0.0
        return ei + it, ei
    if letter in _EI_MAIN:
        ei = float(_EI_MAIN[letter][m])
        return ei + it, ei
    if letter in _EI_FINE:
        value = _EI_FINE[letter][f]
        if value is None:
            return None
        return float(value) + it, float(value)
    return None


def _hole(letter: str, grade: int, size: float) -> tuple[float, float] | None:
    """(ES, EI) of a hole in µm, or None where not tabulated."""
    m = _index(_MAIN, size)
    it = it_grade(grade, size)
    low = letter.lower()
    if low in _ES_FINE or low in _ES_MAIN:
        shaft = _shaft(low, grade, size)
        assert shaft is not None
        ei = -shaft[0]
        return ei + it, ei
    if low == "js":
        half = _shaft("js", grade, size)
        assert half is not None
        return half
    if low == "j":
        if grade not in _J_ES:
            return None
        es = float(_J_ES[grade][m])
        return es, es - it
    delta = float(_DELTA[m][grade - 3]) if 3 <= grade <= 8 else 0.0
    if low == "k":
        es = -float(_K_EI[m]) + delta if grade <= 8 and size > 3 else 0.0
        return es, es - it
    if low == "m":
        es = -float(_EI_MAIN["m"][m]) + (delta if grade <= 8 else 0.0)
        return es, es - it
    if low == "n":
        es = -float(_EI_MAIN["n"][m]) + delta if grade <= 8 else 0.0
        return es, es - it
    shaft = _shaft(low, grade, size) if low in _EI_MAIN or low in _EI_FINE else None
    if shaft is None:
        return None
    es = -shaft[1] + (delta if grade <= 7 else 0.0)
    return es, es - it


def deviations(tolerance_class: str, size: float) -> tuple[float, float] | None:
    """Upper and lower deviation in mm of e.g. ``"H7"`` (hole) or ``"g6"``
    (shaft) at a nominal size in mm, or None if the class or size is outside
    the tables."""
    m = CLASS.match(tolerance_class)
    if m is None or not 0 < size <= MAX_SIZE:
        return None
    letter, grade = m.group("letter"), int(m.group("grade"))
    if not 1 <= grade <= 18:
        return None
    if letter.isupper() or letter == "JS":
        pair = _hole(letter, grade, size)
    elif letter.islower():
        pair = _shaft(letter, grade, size)
    else:
        return None
    if pair is None:
        return None
    upper, lower = pair
    # + 0.0 turns a negative zero into zero.
    return round(upper / 1000, 4) + 0.0, round(lower / 1000, 4) + 0.0
