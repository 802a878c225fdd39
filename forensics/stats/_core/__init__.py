"""Pieces several tests share: the station bootstrap, digit extraction, validated counts,
binomial tails and moments.  Private to ``forensics.stats``: tests import them, users do not."""
