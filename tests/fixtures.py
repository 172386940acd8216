"""Tiny kern pieces, each named for what it tests."""

PICKUP_3_4 = """!!!OTL: Pickup in 3/4
**kern
*M3/4
*k[f#]
*G:
4d
=1
4g
8a
8b
4cc
=2
2.b
==
*-
"""

TRIPLETS_AND_TIES = """**kern
*M2/4
*C:
12c
12d
12e
[4f
=1
4f]
8r
8g
=2
[2g
=3
4g_
4g]
==
*-
"""

IRREGULAR = """**kern
*MX
*a:
4a
4b
=1
4cc
4b
4a
=2
2a
*-
"""
