"""The values of an NB word's first field (its bar state) and where the other fields' values
start: shared by the encoding (:mod:`tunelab.tokenizers.nb`) and its grammar."""

START, NEW_BAR, SAME_BAR, SAME_POS, EMPTY_BAR, EOS, BAR_END = 1, 2, 3, 4, 5, 6, 7
V0 = 2  # first value id in fields 1-5 (0 ignore, 1 CONTI)
